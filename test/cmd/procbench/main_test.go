package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine running: the
// harness starts collectors, samplers and load generators.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
