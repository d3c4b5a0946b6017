//go:build race

package api_test

// raceEnabled: the race detector is on (tests that scan much scale down).
const raceEnabled = true
