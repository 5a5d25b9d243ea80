//go:build race

package main

// raceEnabled makes the binaries tests build match the test's own build,
// so that they reuse its compiled packages.
const raceEnabled = true
