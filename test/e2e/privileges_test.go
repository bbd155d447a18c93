//go:build linux

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"golang.org/x/sys/unix"

	"github.com/procmon-otel/procmon/internal/testutil"
)

const (
	// nobody is the unprivileged user the collector runs as.
	nobody = "65534"
	// schedFIFO is SCHED_FIFO in the policy field of /proc/<pid>/task/<tid>/stat.
	schedFIFO = 1
	// defaultReceiveBuffer is the receiver's default receive_buffer_bytes.
	defaultReceiveBuffer = 8 << 20

	attrWorkingDir = "process.working_directory"
	attrField      = "procmon.field"

	capsWarning     = "procmon runs without some capabilities"
	priorityWarning = "below the configured reader_priority"
)

// procmonCaps are the capabilities procmon uses, as setpriv names them, with
// the text the collector logs at start when it lacks each.
var procmonCaps = []struct{ name, missing string }{
	{"net_admin", "CAP_NET_ADMIN: the receive buffer is capped at net.core.rmem_max"},
	{"sys_ptrace", "CAP_SYS_PTRACE: other users' executables and working directories cannot be read"},
	{"sys_admin", "CAP_SYS_ADMIN: the root network namespace cannot be entered from another one"},
	{"sys_nice", "CAP_SYS_NICE: the reader thread cannot be given a raised priority"},
}

// TestLeastPrivilege runs the collector with the netlink source as uid 65534
// with only the capabilities that source uses (CAP_NET_ADMIN,
// CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_SYS_NICE, given as ambient capabilities
// by setpriv), shows that it reports a root-owned process in full, then
// drops each capability in turn and checks exactly what is lost.
func TestLeastPrivilege(t *testing.T) {
	testutil.RequireRoot(t)
	requireSetpriv(t)
	bin, cfg := unprivilegedCopies(t)
	probe := rootProbe(t)

	// What the receive buffer becomes without CAP_NET_ADMIN: the kernel caps
	// SO_RCVBUF at rmem_max, and reports every size doubled.
	rmemMax := readSysctl(t, "/proc/sys/net/core/rmem_max")
	forced, capped := 2*defaultReceiveBuffer, 2*min(defaultReceiveBuffer, rmemMax)

	t.Run("all four", func(t *testing.T) {
		col, logs, _ := startWithCaps(t, bin, cfg, "")
		r := probeExec(t, col, logs, probe)
		assert.Equal(t, probe, stringAttr(r, attrExePath), "needs CAP_SYS_PTRACE")
		wd, err := os.Getwd()
		require.NoError(t, err)
		assert.Equal(t, wd, stringAttr(r, attrWorkingDir), "needs CAP_SYS_PTRACE")
		assert.Equal(t, 1, fifoThreads(t, col), "SCHED_FIFO threads: the reader, raised with CAP_SYS_NICE")
		assert.Equal(t, forced, receiveBuffer(t, col), "SO_RCVBUFFORCE with CAP_NET_ADMIN")
		checkCapsWarning(t, col, "")
		assert.NotContains(t, col.out.String(), priorityWarning)
		stopCollector(t, col)
	})

	t.Run("without sys_ptrace", func(t *testing.T) {
		col, logs, metrics := startWithCaps(t, bin, cfg, "sys_ptrace")
		probeExec(t, col, logs, probe)
		// The misses counted before the next probe, then after it.
		before := eventuallySum(t, metrics, "procmon.enrichment.misses", attrField, "exe", -1)
		r := probeExec(t, col, logs, probe)
		_, hasPath := r.Attributes().Get(attrExePath)
		assert.False(t, hasPath, "%s of a root process without CAP_SYS_PTRACE", attrExePath)
		_, hasCwd := r.Attributes().Get(attrWorkingDir)
		assert.False(t, hasCwd, "%s of a root process without CAP_SYS_PTRACE", attrWorkingDir)
		// /proc/<pid>/cmdline and stat are world-readable.
		assert.Equal(t, probe+" 0.1", commandLine(r))
		assert.Equal(t, int64(os.Getpid()), intAttr(r, attrParentPID))
		after := eventuallySum(t, metrics, "procmon.enrichment.misses", attrField, "exe", before)
		t.Logf("procmon.enrichment.misses{procmon.field=exe}: %d before the probe, %d after", before, after)
		assert.Equal(t, 1, fifoThreads(t, col))
		checkCapsWarning(t, col, "sys_ptrace")
		stopCollector(t, col)
	})

	t.Run("without sys_nice", func(t *testing.T) {
		col, logs, _ := startWithCaps(t, bin, cfg, "sys_nice")
		r := probeExec(t, col, logs, probe)
		assert.Equal(t, probe, stringAttr(r, attrExePath))
		assert.Contains(t, col.out.String(), priorityWarning)
		// Neither SCHED_FIFO nor nice -20 is allowed: the reader stays normal.
		assert.Contains(t, col.out.String(), `"reader_priority": "realtime", "got": "normal"`)
		assert.Equal(t, 0, fifoThreads(t, col), "SCHED_FIFO threads without CAP_SYS_NICE")
		checkCapsWarning(t, col, "sys_nice")
		stopCollector(t, col)
	})

	t.Run("without net_admin", func(t *testing.T) {
		admitted := testutil.ConnectorAdmitsUnprivileged(t)
		col, logs, _ := startWithCaps(t, bin, cfg, "net_admin")
		if !admitted {
			// This kernel lets only CAP_NET_ADMIN join the process event group.
			out := failedAtStart(t, col, "without CAP_NET_ADMIN, on a kernel that requires it")
			assert.Contains(t, out, "needs CAP_NET_ADMIN in the initial user namespace on this kernel")
			assert.Contains(t, out, "joining the proc connector's process event group: operation not permitted")
			return
		}
		// A kernel that lets any user listen: only the buffer is capped.
		r := probeExec(t, col, logs, probe)
		assert.Equal(t, probe, stringAttr(r, attrExePath))
		assert.Equal(t, capped, receiveBuffer(t, col), "SO_RCVBUF capped at net.core.rmem_max (%d) without CAP_NET_ADMIN", rmemMax)
		checkCapsWarning(t, col, "net_admin")
		stopCollector(t, col)
	})

	t.Run("without sys_admin", func(t *testing.T) {
		self, err := os.Readlink("/proc/self/ns/net")
		require.NoError(t, err)
		// kthreadd (pid 2) is always in the root network namespace, and its
		// link is readable where an init that is not dumpable hides its own.
		root, err := os.Readlink("/proc/2/ns/net")
		require.NoError(t, err)
		require.Equal(t, root, self, "this case needs the test to run in the root network namespace")
		// The collector inherits it, so it never has to enter it.
		col, logs, _ := startWithCaps(t, bin, cfg, "sys_admin")
		r := probeExec(t, col, logs, probe)
		assert.Equal(t, probe, stringAttr(r, attrExePath))
		checkCapsWarning(t, col, "sys_admin")
		stopCollector(t, col)
	})
}

// startWithCaps starts a sink and, through setpriv, the collector with the
// netlink source as uid and gid 65534 without supplementary groups, with
// the four capabilities that source uses but drop (a setpriv name, or "")
// as inheritable and ambient ones. The bounding set is left as it is.
func startWithCaps(t *testing.T, bin, cfg, drop string) (*collector, *consumertest.LogsSink, *consumertest.MetricsSink) {
	t.Helper()
	var keep []string
	for _, c := range procmonCaps {
		if c.name != drop {
			keep = append(keep, c.name)
		}
	}
	return startAsNobody(t, bin, cfg, sourceNetlink, keep...)
}

// startAsNobody starts a sink and, through setpriv, the collector with
// source as uid and gid 65534 without supplementary groups, with only the
// capabilities keep (setpriv names) as inheritable and ambient ones.
func startAsNobody(t *testing.T, bin, cfg, source string, keep ...string) (*collector, *consumertest.LogsSink, *consumertest.MetricsSink) {
	t.Helper()
	logs, metrics, endpoint := startSink(t)
	caps := "-all"
	for _, c := range keep {
		caps += ",+" + c
	}
	c := launch(t, exec.Command("setpriv", "--reuid="+nobody, "--regid="+nobody, "--clear-groups",
		"--inh-caps="+caps, "--ambient-caps="+caps, bin, "--config", cfg), endpoint, source)
	// setpriv execs the collector in its own process: check what it got.
	require.Eventually(t, func() bool {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
		return err == nil && bytes.Contains(status, []byte("Uid:\t"+nobody+"\t"+nobody))
	}, 5*time.Second, 10*time.Millisecond, "the collector does not run as uid %s", nobody)
	return c, logs, metrics
}

// probeExec runs probe (a copy of sleep) for 0.1s until an exec record for
// its pid arrives, and returns the record.
func probeExec(t *testing.T, col *collector, logs *consumertest.LogsSink, probe string) plog.LogRecord {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if col.hasExited() {
			t.Fatalf("collector exited early: %s", col.cmd.ProcessState)
		}
		cmd := exec.Command(probe, "0.1")
		require.NoError(t, cmd.Run())
		pid := int64(cmd.Process.Pid)
		for range 5 {
			time.Sleep(200 * time.Millisecond)
			// By parent too: a busy host may have reused the pid already.
			if got := childRecords(logs, int64(os.Getpid()))[pid]; got != nil && len(got.execs) > 0 {
				return got.execs[0]
			}
		}
	}
	t.Fatalf("no %s record for %s within 30s", eventExec, probe)
	return plog.LogRecord{}
}

// checkCapsWarning asserts that the collector's start-up warning lists
// exactly the capability dropped (a setpriv name), or is absent when none was.
func checkCapsWarning(t *testing.T, col *collector, dropped string) {
	t.Helper()
	out := col.out.String()
	if dropped == "" {
		assert.NotContains(t, out, capsWarning)
		return
	}
	assert.Contains(t, out, capsWarning)
	for _, c := range procmonCaps {
		if c.name == dropped {
			assert.Contains(t, out, c.missing, "the warning must name the dropped capability")
		} else {
			assert.NotContains(t, out, c.missing, "the collector has this capability")
		}
	}
}

// eventuallySum waits for the newest value of the cumulative sum name's data
// point with attribute key=value to exceed above, and returns it.
func eventuallySum(t *testing.T, metrics *consumertest.MetricsSink, name, key, value string, above int64) int64 {
	t.Helper()
	var got int64
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		v, ok := latestSumWhere(metrics, name, key, value)
		if assert.True(c, ok, "no data point for %s{%s=%s} yet", name, key, value) {
			assert.Greater(c, v, above, "%s{%s=%s}", name, key, value)
			got = v
		}
	}, 10*time.Second, 100*time.Millisecond)
	return got
}

// latestSumWhere returns the largest value of name's data points with
// attribute key=value: a cumulative sum's latest.
func latestSumWhere(metrics *consumertest.MetricsSink, name, key, value string) (int64, bool) {
	var latest int64
	found := false
	for _, md := range metrics.AllMetrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Name() != name || checkCumulativeSum(m) != nil {
						continue
					}
					for _, dp := range m.Sum().DataPoints().All() {
						if v, ok := dp.Attributes().Get(key); ok && v.AsString() == value {
							found = true
							latest = max(latest, pointValue(dp))
						}
					}
				}
			}
		}
	}
	return latest, found
}

// fifoThreads counts the collector's threads scheduled SCHED_FIFO, from the
// policy field (41) of each /proc/<pid>/task/<tid>/stat.
func fifoThreads(t *testing.T, col *collector) int {
	t.Helper()
	taskDir := fmt.Sprintf("/proc/%d/task", col.cmd.Process.Pid)
	tasks, err := os.ReadDir(taskDir)
	require.NoError(t, err)
	n := 0
	for _, task := range tasks {
		stat, err := os.ReadFile(filepath.Join(taskDir, task.Name(), "stat"))
		if err != nil {
			continue // the thread ended
		}
		// Fields after the comm are counted from 3 (state).
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		require.Greater(t, len(fields), 41-3, "stat of task %s", task.Name())
		if policy, _ := strconv.Atoi(fields[41-3]); policy == schedFIFO {
			n++
		}
	}
	return n
}

// receiveBuffer returns SO_RCVBUF of the collector's proc connector socket,
// read through a duplicate of its descriptor (pidfd_getfd).
func receiveBuffer(t *testing.T, col *collector) int {
	t.Helper()
	pid := col.cmd.Process.Pid
	fd := connectorFD(t, pid)
	pidfd, err := unix.PidfdOpen(pid, 0)
	require.NoError(t, err)
	defer unix.Close(pidfd)
	dup, err := unix.PidfdGetfd(pidfd, fd, 0)
	require.NoError(t, err)
	defer unix.Close(dup)
	size, err := unix.GetsockoptInt(dup, unix.SOL_SOCKET, unix.SO_RCVBUF)
	require.NoError(t, err)
	return size
}

// connectorFD returns the descriptor number of pid's only proc connector socket.
func connectorFD(t *testing.T, pid int) int {
	t.Helper()
	require.Equal(t, 1, connectorSockets(t, pid), "proc connector sockets held by the collector")
	inodes := make(map[string]bool)
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/netlink", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(raw), "\n")[1:] {
		fields := strings.Fields(line)
		if len(fields) >= 10 && fields[1] == strconv.Itoa(netlinkConnector) {
			inodes[fields[9]] = true
		}
	}
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(fdDir)
	require.NoError(t, err)
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil || !strings.HasPrefix(target, "socket:[") {
			continue
		}
		if inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] {
			fd, err := strconv.Atoi(e.Name())
			require.NoError(t, err)
			return fd
		}
	}
	t.Fatalf("pid %d holds no proc connector socket", pid)
	return -1
}

// readSysctl reads an integer from a /proc/sys file.
func readSysctl(t *testing.T, path string) int {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	v, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	require.NoError(t, err)
	return v
}

// TestLeastPrivilegeEBPF runs the collector with the eBPF source as uid
// 65534 with only CAP_BPF and CAP_PERFMON: a root-owned process is reported
// in full, for the kernel hands over what it ran. Without them, source ebpf
// fails at start naming them, and source auto takes netlink.
func TestLeastPrivilegeEBPF(t *testing.T) {
	testutil.RequireRoot(t)
	requireSetpriv(t)
	bin, cfg := unprivilegedCopies(t)
	probe := rootProbe(t)
	wd, err := os.Getwd()
	require.NoError(t, err)

	t.Run("bpf and perfmon", func(t *testing.T) {
		col, logs, _ := startAsNobody(t, bin, cfg, sourceEBPF, "bpf", "perfmon")
		r := probeExec(t, col, logs, probe)
		assert.Equal(t, probe, stringAttr(r, attrExePath), "no CAP_SYS_PTRACE needed")
		assert.Equal(t, wd, stringAttr(r, attrWorkingDir), "no CAP_SYS_PTRACE needed")
		assert.Equal(t, probe+" 0.1", commandLine(r))
		assert.Contains(t, col.out.String(), `"source": "ebpf"`)
		stopCollector(t, col)
	})

	t.Run("source ebpf without them", func(t *testing.T) {
		col, _, _ := startAsNobody(t, bin, cfg, sourceEBPF, "sys_ptrace")
		out := failedAtStart(t, col, "without CAP_BPF and CAP_PERFMON")
		assert.Contains(t, out, "the eBPF source needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN")
	})

	t.Run("auto without them", func(t *testing.T) {
		col, logs, _ := startAsNobody(t, bin, cfg, "auto", "net_admin", "sys_ptrace", "sys_nice")
		r := probeExec(t, col, logs, probe)
		assert.Equal(t, probe, stringAttr(r, attrExePath))
		out := col.out.String()
		assert.Contains(t, out, `"source": "netlink"`)
		assert.Contains(t, out, "the eBPF source cannot run here: the eBPF source needs CAP_BPF and CAP_PERFMON")
		stopCollector(t, col)
	})
}

// requireSetpriv skips, or fails in CI, where setpriv is missing.
func requireSetpriv(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("setpriv"); err != nil {
		testutil.SkipOrFail(t, "needs setpriv (util-linux) to run the collector with chosen capabilities")
	}
}

// unprivilegedCopies copies the collector and the e2e configuration where
// user 65534 may run and read them (the build tree is private), and returns
// their paths.
func unprivilegedCopies(t *testing.T) (bin, cfg string) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	bin = filepath.Join(dir, "otelcol-procmon")
	copyFile(t, collectorBinary(t), bin, 0o755)
	cfg = filepath.Join(dir, "config.yaml")
	copyFile(t, e2eConfig(t), cfg, 0o644)
	return bin, cfg
}

// rootProbe returns a copy of /bin/sleep that root owns: it lives long enough
// to be read, so a record without its path is the collector's lack of
// privilege, not a race.
func rootProbe(t *testing.T) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	probe := filepath.Join(dir, "procmon-e2e-probe")
	copyFile(t, "/bin/sleep", probe, 0o755)
	return probe
}
