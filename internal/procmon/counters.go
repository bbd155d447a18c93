package procmon

import "sync/atomic"

// counters are the monitor's telemetry, updated without locks.
type counters struct {
	events            [NumKinds]atomic.Uint64
	exec              atomic.Uint64
	exit              atomic.Uint64
	restarts          atomic.Uint64
	reinitFailures    atomic.Uint64
	scanFailures      atomic.Uint64
	callbacksExecuted atomic.Uint64
	execDropped       atomic.Uint64
	exitDropped       atomic.Uint64
	kernelLost        atomic.Uint64
	malformed         atomic.Uint64
	overruns          atomic.Uint64
}

// Counters is a snapshot of the monitor's counters. Every value only grows
// for the life of the monitor.
type Counters struct {
	// Events counts every event the source delivered, by kind, thread events
	// included.
	Events [NumKinds]uint64
	// Exec and Exit count process execs and process exits (not thread exits).
	Exec, Exit uint64
	// Restarts counts source restarts after an error.
	Restarts uint64
	// ReinitFailures counts failed attempts to re-open the source.
	ReinitFailures uint64
	// ScanFailures counts scans of /proc that failed.
	ScanFailures uint64
	// CallbacksExecuted counts subscriber callbacks run.
	CallbacksExecuted uint64
	// ExecDropped and ExitDropped count events dropped because a worker queue
	// was full.
	ExecDropped, ExitDropped uint64
	// KernelLost counts events the kernel sent that the source never got.
	KernelLost uint64
	// Malformed counts kernel messages that could not be decoded.
	Malformed uint64
	// Overruns counts receive buffer overruns reported by the source.
	Overruns uint64
}

func (c *counters) snapshot() Counters {
	var s Counters
	for k := range c.events {
		s.Events[k] = c.events[k].Load()
	}
	s.Exec = c.exec.Load()
	s.Exit = c.exit.Load()
	s.Restarts = c.restarts.Load()
	s.ReinitFailures = c.reinitFailures.Load()
	s.ScanFailures = c.scanFailures.Load()
	s.CallbacksExecuted = c.callbacksExecuted.Load()
	s.ExecDropped = c.execDropped.Load()
	s.ExitDropped = c.exitDropped.Load()
	s.KernelLost = c.kernelLost.Load()
	s.Malformed = c.malformed.Load()
	s.Overruns = c.overruns.Load()
	return s
}
