package procmon

import (
	"sync/atomic"
	"time"
)

// clockReader reads a kernel clock in nanoseconds.
type clockReader func() int64

// wallClock converts kernel CLOCK_MONOTONIC and CLOCK_BOOTTIME times to wall
// clock time with offsets measured at start and re-measured periodically, so
// a change of the system clock is followed.
type wallClock struct {
	realtime, monotonic, boottime clockReader
	monoOffset                    atomic.Int64 // realtime - monotonic, ns
	bootOffset                    atomic.Int64 // realtime - boottime, ns
}

// calibrate measures the offsets. Each is read between two readings of the
// realtime clock and the midpoint taken, which bounds the error by half the
// time the three reads took.
func (c *wallClock) calibrate() {
	c.monoOffset.Store(offset(c.realtime, c.monotonic))
	c.bootOffset.Store(offset(c.realtime, c.boottime))
}

func offset(real, other clockReader) int64 {
	r1 := real()
	o := other()
	r2 := real()
	return r1 + (r2-r1)/2 - o
}

// fromMonotonic converts a CLOCK_MONOTONIC time in ns to wall clock.
func (c *wallClock) fromMonotonic(ns uint64) time.Time {
	return time.Unix(0, int64(ns)+c.monoOffset.Load())
}

// fromBoottime converts a CLOCK_BOOTTIME time in ns to wall clock.
func (c *wallClock) fromBoottime(ns uint64) time.Time {
	return time.Unix(0, int64(ns)+c.bootOffset.Load())
}
