package procmonreceiver

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"

	"github.com/procmon-otel/procmon/internal/procmon"
	"github.com/procmon-otel/procmon/internal/testutil"
	"github.com/procmon-otel/procmon/receiver/procmonreceiver/internal/metadata"
)

// sources are the event sources the tests on the real kernel run with.
var sources = []string{sourceEBPF, sourceNetlink}

// forEachSource runs test as a subtest for each source.
func forEachSource(t *testing.T, test func(t *testing.T, source string)) {
	testutil.RequireRoot(t)
	for _, source := range sources {
		t.Run(source, func(t *testing.T) { test(t, source) })
	}
}

// startRealReceiver starts the receiver on the kernel with the default
// configuration and source, records sent to the returned sink.
func startRealReceiver(t *testing.T, source string) *consumertest.LogsSink {
	t.Helper()
	cfg := createDefaultConfig()
	cfg.Source = source
	cfg.ScanExistingProcesses = false
	cfg.FlushInterval = 10 * time.Millisecond
	sink := new(consumertest.LogsSink)
	rcv, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, rcv.Shutdown(context.Background())) })
	return sink
}

// waitForRecords waits until the sink has a record of each name for pid and
// returns them by name.
func waitForRecords(t *testing.T, sink *consumertest.LogsSink, pid int, names ...string) map[string]plog.LogRecord {
	t.Helper()
	got := map[string]plog.LogRecord{}
	require.Eventually(t, func() bool {
		recs := records(sink)
		for _, name := range names {
			r, ok := findRecord(recs, name, pid)
			if !ok {
				return false
			}
			got[name] = r
		}
		return true
	}, 5*time.Second, 10*time.Millisecond, "records %v of pid %d", names, pid)
	return got
}

// TestRealKernelEvents runs the receiver on the kernel and checks the records
// of a process that exits with a code and of one that is killed.
func TestRealKernelEvents(t *testing.T) { forEachSource(t, testRealKernelEvents) }

func testRealKernelEvents(t *testing.T, source string) {
	sink := startRealReceiver(t, source)

	coded := exec.Command("/bin/sh", "-c", "sleep 0.05; exit 7")
	require.Error(t, coded.Run())
	killed := exec.Command("/bin/sleep", "30")
	require.NoError(t, killed.Start())
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, killed.Process.Kill())
	_ = killed.Wait()

	recs := waitForRecords(t, sink, coded.Process.Pid, "procmon.exec", "procmon.exit")
	exit := recs["procmon.exit"]
	attrs := exit.Attributes().AsRaw()
	require.Equal(t, int64(7), attrs[attrExitCode])
	require.Equal(t, int64(os.Getpid()), attrs[attrParentPID])
	require.Equal(t, plog.SeverityNumberWarn, exit.SeverityNumber())
	require.WithinDuration(t, time.Now(), exit.Timestamp().AsTime(), 5*time.Second)

	execRec := recs["procmon.exec"]
	self, err := os.Readlink("/proc/self/exe")
	require.NoError(t, err)
	require.NotEqual(t, self, execRec.Attributes().AsRaw()[attrExecutablePath], "the exec names the new program, not the parent's")
	require.Equal(t, []any{"/bin/sh", "-c", "sleep 0.05; exit 7"}, execRec.Attributes().AsRaw()[attrCommandArgs])

	kill := waitForRecords(t, sink, killed.Process.Pid, "procmon.exit")["procmon.exit"]
	require.Equal(t, "SIGKILL", kill.Attributes().AsRaw()[attrExitSignal])
	require.NotContains(t, kill.Attributes().AsRaw(), attrExitCode)
	require.Contains(t, kill.Body().Str(), "killed by SIGKILL")
	sleep, err := filepath.EvalSymlinks("/bin/sleep")
	require.NoError(t, err)
	require.Equal(t, sleep, kill.Attributes().AsRaw()[attrExecutablePath])
	require.Equal(t, plog.SeverityNumberWarn, kill.SeverityNumber())
}

// TestRealProcessDetails runs /bin/sleep 0.3 as uid and gid 65534 in a
// directory of its own and checks what its exec and exit records say.
func TestRealProcessDetails(t *testing.T) { forEachSource(t, testRealProcessDetails) }

func testRealProcessDetails(t *testing.T, source string) {
	const nobody = 65534
	owner, err := user.LookupId(strconv.Itoa(nobody))
	if err != nil {
		t.Skipf("uid %d has no name here: %v", nobody, err)
	}
	dir := t.TempDir()
	// The child changes directory after it became uid 65534, so every
	// directory on the way must let it through.
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	require.NoError(t, os.Chmod(dir, 0o755))
	wantDir, err := filepath.EvalSymlinks(dir)
	require.NoError(t, err)
	sleep, err := filepath.EvalSymlinks("/bin/sleep")
	require.NoError(t, err)

	sink := startRealReceiver(t, source)
	cmd := exec.Command("/bin/sleep", "0.3")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: nobody, Gid: nobody},
		// A session of its own: no controlling terminal, whatever runs the test.
		Setsid: true,
	}
	started := time.Now()
	require.NoError(t, cmd.Run())
	ended := time.Now()
	pid := cmd.Process.Pid

	recs := waitForRecords(t, sink, pid, "procmon.exec", "procmon.exit")
	execAttrs := recs["procmon.exec"].Attributes().AsRaw()
	require.Equal(t, sleep, execAttrs[attrExecutablePath])
	require.Equal(t, filepath.Base(sleep), execAttrs[attrExecutableName])
	require.Equal(t, []any{"/bin/sleep", "0.3"}, execAttrs[attrCommandArgs])
	require.Equal(t, "/bin/sleep", execAttrs[attrCommand])
	require.Equal(t, int64(2), execAttrs[attrArgsCount])
	require.Equal(t, wantDir, execAttrs[attrWorkingDirectory])
	require.Equal(t, int64(nobody), execAttrs[attrUserID])
	require.Equal(t, int64(nobody), execAttrs[attrRealUserID])
	require.Equal(t, int64(nobody), execAttrs[attrSavedUserID])
	require.Equal(t, int64(nobody), execAttrs[attrGroupID])
	require.Equal(t, int64(nobody), execAttrs[attrRealGroupID])
	require.Equal(t, owner.Username, execAttrs[attrOwner])
	require.Equal(t, int64(os.Getpid()), execAttrs[attrParentPID])
	// setsid made it the leader of its own session and group.
	require.Equal(t, int64(pid), execAttrs[attrSessionLeaderPID])
	require.Equal(t, int64(pid), execAttrs[attrGroupLeaderPID])
	require.Greater(t, execAttrs[attrSessionLeaderPID], int64(0))
	require.Greater(t, execAttrs[attrGroupLeaderPID], int64(0))
	require.Equal(t, false, execAttrs[attrInteractive])
	require.NotContains(t, execAttrs, attrRedacted)
	require.NotContains(t, execAttrs, attrTruncated)
	created, ok := execAttrs[attrCreationTime].(string)
	require.True(t, ok, "process.creation.time is missing")
	createdAt, err := time.Parse(time.RFC3339Nano, created)
	require.NoError(t, err)
	require.WithinDuration(t, started, createdAt, 2*time.Second)
	require.Equal(t, time.UTC, createdAt.Location())

	exit := recs["procmon.exit"]
	exitAttrs := exit.Attributes().AsRaw()
	require.Equal(t, sleep, exitAttrs[attrExecutablePath])
	require.Equal(t, int64(0), exitAttrs[attrExitCode])
	require.Equal(t, plog.SeverityNumberInfo, exit.SeverityNumber())
	exitTime, ok := exitAttrs[attrExitTime].(string)
	require.True(t, ok, "process.exit.time is missing")
	exitedAt, err := time.Parse(time.RFC3339Nano, exitTime)
	require.NoError(t, err)
	require.WithinDuration(t, ended, exitedAt, 2*time.Second)
	lifetime, ok := exitAttrs[attrLifetime].(float64)
	require.True(t, ok, "procmon.lifetime is missing")
	require.GreaterOrEqual(t, lifetime, 0.25)
	require.LessOrEqual(t, lifetime, 5.0)
	require.Equal(t, wantDir, exitAttrs[attrWorkingDirectory])
	require.Equal(t, owner.Username, exitAttrs[attrOwner])
}

// TestPidTableStaysFlatInAStorm runs a fork storm and an exec storm from
// another process and checks that the pid table comes back to where it
// was: every exit takes its process out, so the table does not grow with
// the number of processes seen.
func TestPidTableStaysFlatInAStorm(t *testing.T) { forEachSource(t, testPidTableStaysFlatInAStorm) }

func testPidTableStaysFlatInAStorm(t *testing.T, source string) {
	cfg := createDefaultConfig()
	cfg.Source = source
	cfg.ScanExistingProcesses = false
	cfg.FlushInterval = 10 * time.Millisecond
	sink := new(consumertest.LogsSink)
	rcv, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, rcv.Shutdown(context.Background())) }()
	mon := rcv.(*procmonReceiver).mon

	before := mon.Counters().Tracked
	stormInChild(t, "fork", 20000, 2)
	stormInChild(t, "/bin/true", 2000, 2)
	const storm = 22000
	// Wait for the storm's exits, or for the counters to settle when the
	// kernel dropped some of them.
	var c procmon.Counters
	last, still := uint64(0), 0
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		c = mon.Counters()
		if c.Exit >= storm && c.Tracked <= before+50 {
			break
		}
		if still++; c.Exit != last {
			last, still = c.Exit, 0
		}
		if c.KernelLost > 0 && still > 20 {
			break
		}
	}
	if c.KernelLost > 0 {
		// A lost exit leaves its entry for the periodic sweep; each lost
		// event can leave at most one.
		t.Logf("the kernel dropped %d events in this storm; allowing for them", c.KernelLost)
	} else {
		require.GreaterOrEqual(t, c.Exit, uint64(storm), "exits seen with no loss reported")
	}
	// Processes of the host come and go meanwhile; 50 allows for them.
	require.LessOrEqual(t, c.Tracked, before+50+c.KernelLost,
		"the pid table grew in the storm: %d tracked before, %+v after", before, c)
	require.Zero(t, c.Evictions)
}

func TestChooseSource(t *testing.T) {
	logger := zap.NewNop()
	pick := func(edit func(*Config)) eventSource {
		cfg := createDefaultConfig()
		edit(cfg)
		src, err := chooseSource(cfg, logger)
		require.NoError(t, err)
		if src.release != nil {
			t.Cleanup(src.release)
		}
		return src
	}

	netlink := pick(func(c *Config) { c.Source = sourceNetlink })
	require.Equal(t, sourceNetlink, netlink.name)
	require.Empty(t, netlink.why, "named in the config")
	require.NotNil(t, netlink.readerSetup, "reader_priority applies to the netlink reader")

	ebpf := pick(func(c *Config) { c.Source = sourceEBPF })
	require.Equal(t, sourceEBPF, ebpf.name)
	require.Nil(t, ebpf.readerSetup, "the eBPF reader is left alone")
	require.Nil(t, ebpf.release, "nothing is opened before Start's monitor opens it")

	auto := pick(func(c *Config) { c.Events = []string{"exec", "exit", "uid", "ptrace"} })
	require.Equal(t, sourceNetlink, auto.name)
	require.Equal(t, "the events uid, ptrace come from the netlink source only", auto.why)

	testutil.RequireRoot(t)
	auto = pick(func(*Config) {})
	require.Equal(t, sourceEBPF, auto.name, "as root on a kernel with BTF: %s", auto.why)
	// The source auto opened to try it is the monitor's first.
	first, err := auto.open()
	require.NoError(t, err)
	auto.release() // handed out already: does nothing
	require.NoError(t, first.Close())
}
