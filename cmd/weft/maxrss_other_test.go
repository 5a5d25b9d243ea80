//go:build unix && !linux

package main

// maxrssUnit is the unit of ru_maxrss: bytes on the BSDs and macOS.
const maxrssUnit = 1
