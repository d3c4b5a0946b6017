//go:build race

package main

// raceEnabled: the race detector is on (long process tests scale down).
const raceEnabled = true
