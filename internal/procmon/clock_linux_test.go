package procmon

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// nowOn reads a kernel clock as the proc connector stamps events.
func nowOn(t *testing.T, id int32) uint64 {
	t.Helper()
	var ts unix.Timespec
	require.NoError(t, unix.ClockGettime(id, &ts))
	return uint64(ts.Nano())
}

func TestWallClockLinux(t *testing.T) {
	c := newWallClock()
	for name, tc := range map[string]struct {
		id      int32
		convert func(uint64) time.Time
	}{
		"monotonic": {unix.CLOCK_MONOTONIC, c.fromMonotonic},
		"boottime":  {unix.CLOCK_BOOTTIME, c.fromBoottime},
	} {
		t.Run(name, func(t *testing.T) {
			before := time.Now()
			got := tc.convert(nowOn(t, tc.id))
			after := time.Now()
			// Within 1ms of the moment of the read, bounded by the reads around it.
			require.False(t, got.Before(before.Add(-time.Millisecond)), "%v is before %v", got, before)
			require.False(t, got.After(after.Add(time.Millisecond)), "%v is after %v", got, after)
		})
	}
}
