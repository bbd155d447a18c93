//go:build linux

package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReloadOnSIGHUP sends the collector SIGHUP, as `systemctl reload` does:
// it reloads its configuration and restarts its pipelines, and procmon
// starts again and goes on reporting.
func TestReloadOnSIGHUP(t *testing.T) {
	r := startReporting(t, "")
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool {
		return strings.Count(r.out.String(), "procmon receiver started") == 2
	}, 30*time.Second, 100*time.Millisecond, "procmon did not start again after SIGHUP")
	before := r.logs.LogRecordCount()
	pid, _ := runOnce(t, r.probe)
	require.Eventually(t, func() bool {
		got := recordsByPID(r.logs)[pid]
		return r.logs.LogRecordCount() > before && got != nil && len(got.execs) == 1 && len(got.exits) == 1
	}, 30*time.Second, 100*time.Millisecond, "no records after the reload")
	require.False(t, r.hasExited())
	stopCollector(t, r.collector)
}
