//go:build race

package main

// raceEnabled: the tests run with -race, and so do the servers they build.
const raceEnabled = true
