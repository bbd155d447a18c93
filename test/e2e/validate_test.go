//go:build linux

package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// collectorConfig is a whole collector configuration around the given procmon
// receiver settings (YAML indented by four spaces, or empty). It needs no
// network: the debug exporter prints nowhere at basic verbosity, and the
// collector's own metrics endpoint is off.
func collectorConfig(procmon string) string {
	return `receivers:
  procmon:
` + procmon + `
exporters:
  debug:
    verbosity: basic

service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [procmon]
      exporters: [debug]
    metrics:
      receivers: [procmon]
      exporters: [debug]
`
}

// writeConfig writes a collector configuration to a temporary file and returns its path.
func writeConfig(t *testing.T, config string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(config), 0o644))
	return path
}

// runCollector runs the collector with args and returns its exit code and
// output. It fails the test if the collector runs longer than timeout.
func runCollector(t *testing.T, timeout time.Duration, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, collectorBinary(t), args...).CombinedOutput()
	require.NoError(t, ctx.Err(), "the collector still ran after %s:\n%s", timeout, out)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		require.NoError(t, err, "running the collector")
	}
	if exit != nil {
		return exit.ExitCode(), string(out)
	}
	return 0, string(out)
}

// TestValidateRejectsBadConfig runs "otelcol-procmon validate" on configurations
// with one bad value each: it must fail and name the key with the receiver's
// own message.
func TestValidateRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		// want follows the receiver's id: ": " and the receiver's message,
		// or "::" and the path of a nested setting's.
		name, procmon, want string
	}{
		{"unknown source", `    source: kprobe`,
			`: source: unknown source "kprobe"; use auto, ebpf or netlink`},
		{"ebpf with netlink's events", "    source: ebpf\n    events: [exec, exit, comm]",
			`: events: comm come from the netlink source only; with source "ebpf", list exec, exit and fork`},
		{"negative workers", `    workers: -1`,
			`: workers: -1 is out of range; use 0 (one per CPU) to 1024`},
		{"zero queue", `    queue_size: 0`,
			`: queue_size: must be positive, got 0`},
		{"bad regexp", "    filter:\n      include:\n        match_type: regexp\n        names: [\"a(b\"]",
			"::filter::include: names[0]: error parsing regexp: missing closing ): `a(b`"},
		{"zero collection interval", `    collection_interval: 0s`,
			`: collection_interval: must be positive, got 0s`},
		{"receive buffer beyond the limit", `    receive_buffer_bytes: 1073741825`,
			`: receive_buffer_bytes: 1073741825 is out of range; use 0 (kernel default) to 1073741824`},
		{"unknown event", `    events: [exec, spawn]`,
			`: events: unknown event "spawn"; use exec, exit, fork, comm, uid, gid, sid, ptrace, coredump or all`},
		{"retry longer than its limit", "    retry_on_failure:\n      max_interval: 1m\n      max_elapsed_time: 10s",
			"::retry_on_failure: 'max_elapsed_time' must not be less than 'max_interval'"},
		{"bad command_line", `    command_line: partial`,
			`: command_line: unknown mode "partial"; use full, redacted or none`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			config := writeConfig(t, collectorConfig(tc.procmon))
			code, out := runCollector(t, 10*time.Second, "validate", "--config", config)
			require.NotZero(t, code, "validate accepted:\n%s", tc.procmon)
			// The collector prefixes the receiver's first error with its id.
			require.Contains(t, out, "receivers::procmon"+tc.want)
		})
	}
}

// TestValidateAcceptsGoodConfig checks that validate passes a configuration
// that sets every kind of key, and the default one.
func TestValidateAcceptsGoodConfig(t *testing.T) {
	for name, procmon := range map[string]string{
		"defaults": "",
		"all settings": strings.Join([]string{
			"    source: netlink",
			"    proc_root: /proc",
			"    workers: 2",
			"    queue_size: 16",
			"    receive_buffer_bytes: 1073741824",
			"    collection_interval: 1s",
			"    events: [exec, exit, fork]",
			"    reader_priority: normal",
			"    command_line: full",
			"    filter:",
			"      include:",
			"        match_type: regexp",
			`        names: ["^(ba)?sh$"]`,
		}, "\n"),
	} {
		t.Run(name, func(t *testing.T) {
			config := writeConfig(t, collectorConfig(procmon))
			code, out := runCollector(t, 10*time.Second, "validate", "--config", config)
			require.Zero(t, code, "validate rejected it:\n%s", out)
		})
	}
}

// TestUnreadableProcRoot checks that a proc_root that does not exist passes
// validate, which does no I/O, but stops the collector at start, within
// seconds, with a message that names proc_root.
func TestUnreadableProcRoot(t *testing.T) {
	config := writeConfig(t, collectorConfig("    proc_root: /nonexistent/proc"))
	code, out := runCollector(t, 10*time.Second, "validate", "--config", config)
	require.Zero(t, code, "validate rejected it:\n%s", out)

	code, out = runCollector(t, 10*time.Second, "--config", config)
	require.NotZero(t, code, "the collector ran with an unreadable proc_root:\n%s", out)
	require.Contains(t, out, "proc_root /nonexistent/proc is not readable")
}
