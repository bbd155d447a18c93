package loadgen

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestExecStorm(t *testing.T) {
	res, err := ExecStorm([]string{"/bin/true"}, 50, 2)
	require.NoError(t, err)
	require.Len(t, res.PIDs, 50)
	require.Positive(t, res.Rate())
	for _, p := range res.PIDs {
		_, err := os.Stat("/proc/" + itoa(p))
		require.Error(t, err, "pid %d must be reaped", p)
	}
}

func TestForkStorm(t *testing.T) {
	res, err := ForkStorm(200, 2)
	require.NoError(t, err)
	require.Len(t, res.PIDs, 200)
	self := int32(os.Getpid())
	for _, p := range res.PIDs {
		require.Greater(t, p, int32(0), "a child's pid, not the vfork child's return value")
		require.NotEqual(t, self, p)
	}
}

func TestBadArguments(t *testing.T) {
	_, err := ExecStorm(nil, 1, 1)
	require.Error(t, err)
	_, err = ForkStorm(0, 1)
	require.ErrorContains(t, err, "must be positive")
	_, err = ExecStorm([]string{"/nonexistent/program"}, 3, 1)
	require.ErrorContains(t, err, "starting a process")
}

func itoa(p int32) string { return strconv.Itoa(int(p)) }

func TestPacedExecKeepsItsSchedule(t *testing.T) {
	res, err := PacedExec([]string{"/bin/true"}, 20, 2, 20*time.Millisecond)
	require.NoError(t, err)
	require.Len(t, res.PIDs, 20)
	// The 20th start waits for its slot at 19 intervals.
	require.GreaterOrEqual(t, res.Elapsed, 19*20*time.Millisecond)
}
