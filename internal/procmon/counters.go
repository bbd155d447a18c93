package procmon

import (
	"sync/atomic"

	"github.com/procmon-otel/procmon/internal/procevent"
)

// counters are the monitor's telemetry, updated without locks.
type counters struct {
	events            [procevent.NumKinds]atomic.Uint64
	exec              atomic.Uint64
	exit              atomic.Uint64
	restarts          atomic.Uint64
	reinitFailures    atomic.Uint64
	scanFailures      atomic.Uint64
	callbacksExecuted atomic.Uint64
	dropped           [procevent.NumKinds]atomic.Uint64
	misses            [procevent.NumFields]atomic.Uint64
	pidReuse          atomic.Uint64
	kernelLost        atomic.Uint64
	malformed         atomic.Uint64
	overruns          atomic.Uint64
}

// Counters is a snapshot of the monitor's counters. Every value only grows
// for the life of the monitor.
type Counters struct {
	// Events counts every event the source delivered, by kind, thread events
	// included.
	Events [procevent.NumKinds]uint64
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
	// Dropped counts events dropped because a worker queue was full, by
	// kind; ExecDropped and ExitDropped repeat its exec and exit counts.
	Dropped                  [procevent.NumKinds]uint64
	ExecDropped, ExitDropped uint64
	// Misses counts, by field, the /proc reads that failed at an exec.
	Misses [procevent.NumFields]uint64
	// Tracked is the number of processes in the pid table now (a gauge).
	Tracked uint64
	// Evictions counts pid table entries dropped because the table was full.
	Evictions uint64
	// PidReuse counts exits whose recorded process turned out to be an
	// earlier holder of the pid, so its metadata was not used.
	PidReuse uint64
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
	for k := range c.dropped {
		s.Dropped[k] = c.dropped[k].Load()
	}
	s.ExecDropped, s.ExitDropped = s.Dropped[procevent.KindExec], s.Dropped[procevent.KindExit]
	for f := range c.misses {
		s.Misses[f] = c.misses[f].Load()
	}
	s.PidReuse = c.pidReuse.Load()
	s.KernelLost = c.kernelLost.Load()
	s.Malformed = c.malformed.Load()
	s.Overruns = c.overruns.Load()
	return s
}
