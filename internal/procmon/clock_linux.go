package procmon

import "golang.org/x/sys/unix"

// readClock returns a clockReader for the clock id.
func readClock(id int32) clockReader {
	return func() int64 {
		var ts unix.Timespec
		if err := unix.ClockGettime(id, &ts); err != nil {
			return 0
		}
		return ts.Nano()
	}
}

func newWallClock() *wallClock {
	c := &wallClock{
		realtime:  readClock(unix.CLOCK_REALTIME),
		monotonic: readClock(unix.CLOCK_MONOTONIC),
		boottime:  readClock(unix.CLOCK_BOOTTIME),
	}
	c.calibrate()
	return c
}
