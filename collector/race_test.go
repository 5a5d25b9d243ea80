//go:build race

package collector

// raceEnabled tells tests that measure memory or time that the race
// detector distorts both.
const raceEnabled = true
