package procmon

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWallClockFixed(t *testing.T) {
	c := fixedClock(testRealtime, testMonotonic, testBoottime)
	// 1s after the monotonic reading is 1s after the wall reading.
	require.Equal(t, time.Unix(0, testRealtime+int64(time.Second)), c.fromMonotonic(uint64(testMonotonic+int64(time.Second))))
	require.Equal(t, time.Unix(0, testRealtime), c.fromBoottime(uint64(testBoottime)))
	// Boot time counts the 2s suspended, so the same reading is 2s earlier.
	require.Equal(t, time.Unix(0, testRealtime-2*int64(time.Second)), c.fromBoottime(uint64(testMonotonic)))
	require.Equal(t, time.Unix(0, testRealtime-testMonotonic), c.fromMonotonic(0))
}

func TestWallClockTakesMidpoint(t *testing.T) {
	// The realtime clock advances 1000ns between its two reads around each
	// other clock's read.
	var now int64 = 1_000_000
	c := &wallClock{
		realtime:  func() int64 { now += 1000; return now },
		monotonic: func() int64 { return 400 },
		boottime:  func() int64 { return 700 },
	}
	c.calibrate()
	// Reads: 1001000 mono 1002000 → midpoint 1001500; then 1003000 boot 1004000.
	require.Equal(t, int64(1_001_500-400), c.monoOffset.Load())
	require.Equal(t, int64(1_003_500-700), c.bootOffset.Load())
}

func TestWallClockRecalibrate(t *testing.T) {
	wall := testRealtime
	c := &wallClock{
		realtime:  func() int64 { return wall },
		monotonic: func() int64 { return testMonotonic },
		boottime:  func() int64 { return testBoottime },
	}
	c.calibrate()
	before := c.fromMonotonic(uint64(testMonotonic))
	// The system clock is stepped an hour ahead: the next calibration follows.
	wall += int64(time.Hour)
	require.Equal(t, before, c.fromMonotonic(uint64(testMonotonic)), "nothing changes until calibrated")
	c.calibrate()
	require.Equal(t, before.Add(time.Hour), c.fromMonotonic(uint64(testMonotonic)))
	require.Equal(t, time.Unix(0, wall), c.fromBoottime(uint64(testBoottime)))
}
