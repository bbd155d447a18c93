//go:build !race

package redact

// raceEnabled is true when the race detector, which empties sync.Pools at random, is on.
const raceEnabled = false
