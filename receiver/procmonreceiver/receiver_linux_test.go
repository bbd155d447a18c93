package procmonreceiver

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/procmon-otel/procmon/internal/testutil"
)

// findRecord returns the record of event name for pid, if the sink has it.
func findRecord(sink *consumertest.LogsSink, name string, pid int) (plog.LogRecord, bool) {
	for _, r := range records(sink) {
		if r.EventName() != name {
			continue
		}
		if v, ok := r.Attributes().Get(attrPID); ok && v.Int() == int64(pid) {
			return r, true
		}
	}
	return plog.LogRecord{}, false
}

// TestRealKernelEvents runs the receiver on the kernel's proc connector and
// checks the records of a process that exits with a code and of one that is
// killed.
func TestRealKernelEvents(t *testing.T) {
	testutil.RequireRoot(t)
	cfg := createDefaultConfig()
	cfg.ScanExistingProcesses = false
	cfg.FlushInterval = 10 * time.Millisecond
	sink := new(consumertest.LogsSink)
	rcv, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(componentType), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, rcv.Shutdown(context.Background())) }()

	coded := exec.Command("/bin/sh", "-c", "sleep 0.05; exit 7")
	require.Error(t, coded.Run())
	killed := exec.Command("/bin/sleep", "30")
	require.NoError(t, killed.Start())
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, killed.Process.Kill())
	_ = killed.Wait()

	var exit plog.LogRecord
	require.Eventually(t, func() bool {
		var ok1, ok2 bool
		exit, ok1 = findRecord(sink, eventNameExit, coded.Process.Pid)
		_, ok2 = findRecord(sink, eventNameExit, killed.Process.Pid)
		return ok1 && ok2
	}, 5*time.Second, 10*time.Millisecond)

	attrs := exit.Attributes().AsRaw()
	require.Equal(t, int64(7), attrs[attrExitCode])
	require.Equal(t, int64(os.Getpid()), attrs[attrParentPID])
	require.Equal(t, plog.SeverityNumberWarn, exit.SeverityNumber())
	require.WithinDuration(t, time.Now(), exit.Timestamp().AsTime(), 5*time.Second)

	execRec, ok := findRecord(sink, eventNameExec, coded.Process.Pid)
	require.True(t, ok)
	shell, err := os.Readlink("/proc/self/exe")
	require.NoError(t, err)
	require.NotEqual(t, shell, execRec.Attributes().AsRaw()[attrExecutablePath], "the exec names the new program, not the parent's")
	require.Equal(t, "/bin/sh -c sleep 0.05; exit 7", execRec.Attributes().AsRaw()[attrCommandLine])

	kill, _ := findRecord(sink, eventNameExit, killed.Process.Pid)
	require.Equal(t, "SIGKILL", kill.Attributes().AsRaw()[attrExitSignal])
	sleep, err := filepath.EvalSymlinks("/bin/sleep")
	require.NoError(t, err)
	require.Equal(t, sleep, kill.Attributes().AsRaw()[attrExecutablePath])
	require.Equal(t, plog.SeverityNumberWarn, kill.SeverityNumber())
}
