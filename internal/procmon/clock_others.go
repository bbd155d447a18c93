//go:build !linux

package procmon

import "time"

// newWallClock on other systems only serves tests: monotonic and boot time
// are both taken as time since the clock was made.
func newWallClock() *wallClock {
	start := time.Now()
	since := func() int64 { return int64(time.Since(start)) }
	c := &wallClock{
		realtime:  func() int64 { return time.Now().UnixNano() },
		monotonic: since,
		boottime:  since,
	}
	c.calibrate()
	return c
}
