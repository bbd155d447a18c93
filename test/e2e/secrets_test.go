//go:build linux

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procmon-otel/procmon/internal/testutil"
)

// TestSecretsNeverLeaveTheCollector runs processes with a password in their
// arguments and environment-style assignments through the built collector
// in its default configuration: their records must arrive, redacted, and
// neither the exported records nor the collector's own log may hold it.
func TestSecretsNeverLeaveTheCollector(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReporting(t, "")
	col, logs := r.collector, r.logs

	const secret = "hunter2"
	var pids []int64
	for _, args := range [][]string{
		{"--password=" + secret},
		{"--password", secret},
		{"--url=postgres://app:" + secret + "@db:5432/app"},
		{"AWS_SECRET_ACCESS_KEY=" + secret},
		{"-H", "Authorization: Bearer " + secret},
	} {
		// A shell that lives a moment, so its /proc entry is read for sure.
		cmd := exec.Command("/bin/sh", append([]string{"-c", "sleep 0.05", "sh"}, args...)...)
		require.NoError(t, cmd.Run())
		pids = append(pids, int64(cmd.Process.Pid))
	}
	require.Eventually(t, func() bool {
		got := recordsByPID(logs)
		for _, pid := range pids {
			if r := got[pid]; r == nil || len(r.execs) == 0 || len(r.exits) == 0 {
				return false
			}
		}
		return true
	}, 20*time.Second, 100*time.Millisecond)

	byPID := recordsByPID(logs)
	for _, pid := range pids {
		line := commandLine(byPID[pid].execs[0])
		require.Contains(t, line, "***", "pid %d: %q", pid, line)
	}
	for i, ld := range logs.AllLogs() {
		js := checkJSON(t, ld, "batch")
		require.False(t, strings.Contains(js, secret), "batch %d holds the secret", i)
	}
	stopCollector(t, col)
	require.NotContains(t, col.out.String(), secret, "the collector's own log holds the secret")
}

// TestForeignNetworkNamespaceWithoutSysAdmin runs the collector with the
// netlink source in a fresh network namespace without CAP_SYS_ADMIN: it
// cannot enter the root namespace, and must fail at start saying so. With
// auto it takes the eBPF source, which no network namespace concerns.
func TestForeignNetworkNamespaceWithoutSysAdmin(t *testing.T) {
	testutil.RequireRoot(t)
	binary := collectorBinary(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		testutil.SkipOrFail(t, "needs unshare (util-linux)")
	}
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	copyFile(t, e2eConfig(t), cfg, 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--net", "--",
		"setpriv", "--inh-caps=-sys_admin", "--bounding-set=-sys_admin", "--", binary, "--config", cfg)
	cmd.Env = append(os.Environ(), "PROCMON_E2E_OTLP_ENDPOINT=127.0.0.1:1", "PROCMON_E2E_SOURCE=netlink")
	out, err := cmd.CombinedOutput()
	require.NoError(t, ctx.Err(), "the collector kept running:\n%s", out)
	require.Error(t, err, "the collector must fail:\n%s", out)
	require.Contains(t, string(out), "procmon: cannot enter the root network namespace")
	require.Contains(t, string(out), "hostNetwork")

	col := launch(t, exec.Command("unshare", "--net", "--",
		"setpriv", "--inh-caps=-sys_admin", "--bounding-set=-sys_admin", "--", binary, "--config", cfg), "127.0.0.1:1", "auto")
	require.Eventually(t, func() bool { return strings.Contains(col.out.String(), "procmon receiver started") },
		10*time.Second, 10*time.Millisecond, "auto did not start in a foreign network namespace")
	require.Contains(t, col.out.String(), `"source": "ebpf"`)
	require.False(t, col.hasExited())
}
