//go:build linux

package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procmon-otel/procmon/internal/testutil"
)

// netlinkConnector is NETLINK_CONNECTOR, the protocol column of /proc/net/netlink.
const netlinkConnector = 11

// connectorSockets counts the proc connector sockets that process pid holds:
// its socket descriptors matched by inode against /proc/net/netlink.
func connectorSockets(t *testing.T, pid int) int {
	t.Helper()
	fdDir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	entries, err := os.ReadDir(fdDir)
	require.NoError(t, err)
	held := make(map[string]bool)
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err == nil && strings.HasPrefix(target, "socket:[") {
			held[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
		}
	}
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "net", "netlink"))
	require.NoError(t, err)
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Scan() // header: sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 {
			continue
		}
		if proto, _ := strconv.Atoi(fields[1]); proto == netlinkConnector && held[fields[9]] {
			n++
		}
	}
	require.NoError(t, sc.Err())
	return n
}

// TestShutdownDuringBurst sends SIGTERM while processes start and stop as
// fast as one loop can run them: the collector must still exit 0 within
// stopGrace.
func TestShutdownDuringBurst(t *testing.T) { forEachSource(t, testShutdownDuringBurst) }

func testShutdownDuringBurst(t *testing.T, source string) {
	r := startReporting(t, source)
	col, probe := r.collector, r.probe

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_ = exec.Command(probe).Run()
			}
		}()
	}
	defer func() { cancel(); wg.Wait() }()
	time.Sleep(time.Second)
	stopCollector(t, col)
}

// TestUnprivilegedCollector runs the collector as an unprivileged user with
// the default source, auto. The eBPF source cannot load without its
// capabilities, so it falls back to netlink. Where the kernel lets only
// CAP_NET_ADMIN listen to the proc connector (the test asks it first), the
// collector must exit non-zero within seconds naming what each source
// lacks; where any user may listen, it must report processes (without a
// raised reader priority, which it says).
func TestUnprivilegedCollector(t *testing.T) {
	testutil.RequireRoot(t)
	admitted := testutil.ConnectorAdmitsUnprivileged(t)
	logs, _, endpoint := startSink(t)
	bin, cfg := unprivilegedCopies(t)
	probe := copyTrue(t)

	col := startCollectorAs(t, bin, cfg, endpoint, "", &syscall.Credential{Uid: 65534, Gid: 65534})
	if !admitted {
		out := failedAtStart(t, col, "as uid 65534 on a kernel that needs CAP_NET_ADMIN")
		require.Contains(t, out, "procmon: neither event source can run here: eBPF: the eBPF source needs CAP_BPF and CAP_PERFMON")
		require.Contains(t, out, "; netlink: subscribing to the kernel's process events needs CAP_NET_ADMIN")
		return
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		require.False(t, col.hasExited(), "an unprivileged collector exited on a kernel that admits it:\n%s", col.out.String())
		// Without privileges the collector cannot read the probe's /proc
		// entry (it runs as root), so look for its pid, not its path.
		cmd := exec.Command(probe)
		require.NoError(t, cmd.Run())
		time.Sleep(300 * time.Millisecond)
		if recs := recordsByPID(logs)[int64(cmd.Process.Pid)]; recs != nil && len(recs.execs) > 0 {
			require.Contains(t, col.out.String(), "below the configured reader_priority",
				"the collector must say that it could not raise its reader's priority")
			stopCollector(t, col)
			return
		}
	}
	t.Fatalf("an unprivileged collector did not report %s within 15s:\n%s", probe, col.out.String())
}

// collectorBinary returns the built collector, or skips (fails in CI) without it.
func collectorBinary(t *testing.T) string {
	t.Helper()
	binary := filepath.Join(repoRoot(t), "_build", "otelcol-procmon")
	if _, err := os.Stat(binary); err != nil {
		testutil.SkipOrFail(t, "collector not built ("+err.Error()+"); run 'make otelcol' first")
	}
	return binary
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, data, mode))
}
