//go:build linux

// Package e2e runs the built otelcol-procmon collector against real processes
// and checks what reaches an OTLP endpoint.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/goleak"

	"github.com/procmon-otel/procmon/internal/testutil"
)

const (
	// runs is how many processes the test starts and expects to see reported.
	runs = 100
	// clockSlack is how far a record's Timestamp may be from the wall clock around its Run.
	clockSlack = time.Second

	eventExec = "procmon.exec"
	eventExit = "procmon.exit"

	attrPID       = "process.pid"
	attrParentPID = "process.parent_pid"
	attrExePath   = "process.executable.path"
	attrExitCode  = "process.exit.code"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The event sources, as the configuration names them.
const (
	sourceEBPF    = "ebpf"
	sourceNetlink = "netlink"
)

// forEachSource runs test as a subtest for each event source.
func forEachSource(t *testing.T, test func(t *testing.T, source string)) {
	testutil.RequireRoot(t)
	for _, source := range []string{sourceEBPF, sourceNetlink} {
		t.Run(source, func(t *testing.T) { test(t, source) })
	}
}

// TestCollectorReportsEveryExecAndExit starts the collector, runs a uniquely
// named binary runs times and expects exactly one exec and one exit record
// for each of those processes, plus the matching counters.
func TestCollectorReportsEveryExecAndExit(t *testing.T) {
	forEachSource(t, testCollectorReportsEveryExecAndExit)
}

func testCollectorReportsEveryExecAndExit(t *testing.T, source string) {
	r := startReporting(t, source)
	col, logs, metrics, probe, warmUp := r.collector, r.logs, r.metrics, r.probe, r.warmUp
	// The logs and the metrics pipeline use the same procmon entry: they
	// must share one monitor, and so one source.
	wantSockets := 0
	if source == sourceNetlink {
		wantSockets = 1
	}
	require.Equal(t, wantSockets, connectorSockets(t, col.cmd.Process.Pid), "proc connector sockets held by the collector")
	require.Equal(t, 1, strings.Count(col.out.String(), "procmon receiver started"), "one monitor")
	require.Contains(t, col.out.String(), `"source": "`+source+`"`)

	parent := int64(os.Getpid())
	started := make(map[int64]runWindow, runs)
	for range runs {
		pid, window := runOnce(t, probe)
		require.NotContains(t, warmUp, pid, "pid %d was reused from the warm-up runs", pid)
		started[pid] = window
	}

	// First wait for everything to arrive; exactness is checked later, after
	// the metrics wait has given any duplicate time to show up too.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		byPID := recordsByPID(logs)
		for pid := range started {
			got := byPID[pid]
			if !assert.NotNil(c, got, "no record for pid %d", pid) {
				return
			}
			assert.NotEmpty(c, got.execs, "no %s record for pid %d", eventExec, pid)
			assert.NotEmpty(c, got.exits, "no %s record for pid %d", eventExit, pid)
		}
	}, 20*time.Second, 200*time.Millisecond)

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		for _, name := range []string{"procmon.execs", "procmon.exits"} {
			value, err := latestSum(metrics, name)
			if assert.NoError(c, err) {
				assert.GreaterOrEqual(c, value, int64(runs), "%s", name)
			}
		}
	}, 20*time.Second, 200*time.Millisecond)

	byPID := recordsByPID(logs)
	unnamed := 0
	for pid, window := range started {
		if !checkRecords(t, pid, byPID[pid], probe, parent, window) {
			unnamed++
		}
	}
	// A probe lives well under a millisecond; one that exits and is reaped
	// before procmon reads /proc/<pid>/exe cannot be named from the proc
	// connector, which says only that a process exec'd. Run one at a time,
	// 5 and 11 of 100 went unnamed in two runs here: allow a fifth, never a
	// wrong path. The eBPF source captures the path at the exec: none.
	allowed := 0
	if source == sourceNetlink {
		allowed = runs / 5
	}
	assert.LessOrEqual(t, unnamed, allowed, "processes reported without %s", attrExePath)
	t.Logf("%d of %d processes reported without %s", unnamed, runs, attrExePath)

	stopCollector(t, col)
}

// repoRoot walks up from the test's directory to the repository root.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		// The repository root holds the collector's manifest; test/ is a
		// module of its own, so a go.mod alone does not tell.
		if _, err := os.Stat(filepath.Join(dir, "builder-config.yaml")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no builder-config.yaml above the test directory")
		dir = parent
	}
}

// startSink runs an OTLP gRPC receiver on loopback that keeps every log and metric it gets.
func startSink(t *testing.T) (*consumertest.LogsSink, *consumertest.MetricsSink, string) {
	t.Helper()
	endpoint := freeLoopbackAddr(t)

	factory := otlpreceiver.NewFactory()
	cfg := factory.CreateDefaultConfig().(*otlpreceiver.Config)
	grpc := cfg.Protocols.GRPC.GetOrInsertDefault()
	grpc.NetAddr.Endpoint = endpoint
	// Room for the large batches of the backpressure test (gRPC's default
	// is 4 MiB).
	grpc.MaxRecvMsgSizeMiB = 64
	cfg.Protocols.HTTP = configoptional.None[otlpreceiver.HTTPConfig]()

	logs := new(consumertest.LogsSink)
	metrics := new(consumertest.MetricsSink)
	settings := receivertest.NewNopSettings(factory.Type())
	ctx := context.Background()
	// Both signals share one receiver, and so one gRPC server, because they share cfg.
	logsRcv, err := factory.CreateLogs(ctx, settings, cfg, logs)
	require.NoError(t, err)
	metricsRcv, err := factory.CreateMetrics(ctx, settings, cfg, metrics)
	require.NoError(t, err)

	require.NoError(t, logsRcv.Start(ctx, componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, logsRcv.Shutdown(context.Background())) })
	require.NoError(t, metricsRcv.Start(ctx, componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, metricsRcv.Shutdown(context.Background())) })
	return logs, metrics, endpoint
}

// freeLoopbackAddr returns a loopback address whose port was free a moment ago.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// copyTrue copies /bin/true under a unique name, so that its path marks this
// test's processes among everything else the host runs.
func copyTrue(t *testing.T) string {
	t.Helper()
	// The kernel reports the resolved path, so resolve any symlink in TMPDIR.
	dir, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	content, err := os.ReadFile("/bin/true")
	require.NoError(t, err)

	f, err := os.CreateTemp(dir, "procmon-e2e-true-")
	require.NoError(t, err)
	_, err = f.Write(content)
	require.NoError(t, err)
	require.NoError(t, f.Chmod(0o755))
	// Closed before anything runs it, or exec would fail with ETXTBSY.
	require.NoError(t, f.Close())
	return f.Name()
}

// collector is a running otelcol-procmon process.
type collector struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
}

// e2eConfig returns the path of testdata/e2e-collector.yaml.
func e2eConfig(t *testing.T) string {
	return filepath.Join(repoRoot(t), "testdata", "e2e-collector.yaml")
}

// reporting is a collector started by startReporting, and what it sends to.
type reporting struct {
	*collector
	logs    *consumertest.LogsSink
	metrics *consumertest.MetricsSink
	// probe is a copy of true whose runs the collector was seen to report;
	// warmUp holds the pids of those runs.
	probe  string
	warmUp map[int64]struct{}
}

// startReporting starts the collector with the event source named ("" for
// the default) and configs (e2eConfig when none; more than one merge),
// sending to a sink of the test's, and returns once it has reported a run of
// the probe.
func startReporting(t *testing.T, source string, configs ...string) *reporting {
	t.Helper()
	if len(configs) == 0 {
		configs = []string{e2eConfig(t)}
	}
	args := make([]string, 0, 2*len(configs))
	for _, c := range configs {
		args = append(args, "--config", c)
	}
	r := &reporting{probe: copyTrue(t)}
	var endpoint string
	r.logs, r.metrics, endpoint = startSink(t)
	r.collector = launch(t, exec.Command(collectorBinary(t), args...), endpoint, source)
	r.warmUp = waitUntilReporting(t, r.collector, r.logs, r.probe)
	return r
}

// startCollector runs the collector binary with config, exporting to
// endpoint, with the event source named (testdata/e2e-collector.yaml reads
// it; "" keeps the default, auto).
func startCollector(t *testing.T, binary, config, endpoint, source string) *collector {
	t.Helper()
	return startCollectorAs(t, binary, config, endpoint, source, nil)
}

// startCollectorAs is startCollector with the given credentials (nil: the test's own).
func startCollectorAs(t *testing.T, binary, config, endpoint, source string, cred *syscall.Credential) *collector {
	t.Helper()
	cmd := exec.Command(binary, "--config", config)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	return launch(t, cmd, endpoint, source)
}

// launch starts cmd, a collector exporting to endpoint with the event source
// named ("" for the default), keeps its output, and kills it at the end of
// the test if it still runs, showing its output when the test failed.
func launch(t *testing.T, cmd *exec.Cmd, endpoint, source string) *collector {
	t.Helper()
	c := &collector{cmd: cmd, out: new(syncBuffer), exited: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), "PROCMON_E2E_OTLP_ENDPOINT="+endpoint)
	if source != "" {
		c.cmd.Env = append(c.cmd.Env, "PROCMON_E2E_SOURCE="+source)
	}
	c.cmd.Stdout = c.out
	c.cmd.Stderr = c.out
	require.NoError(t, c.cmd.Start())
	go func() {
		// The error is read back through ProcessState.
		_ = c.cmd.Wait()
		close(c.exited)
	}()

	t.Cleanup(func() {
		if !c.hasExited() {
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
		if t.Failed() {
			t.Logf("collector %v output:\n%s", c.cmd.Args, c.out.String())
		}
	})
	return c
}

// failedAtStart waits up to 15s for a collector that cannot start to exit,
// fails t unless it exited non-zero, and returns what it printed; lacking
// says what it runs without.
func failedAtStart(t *testing.T, col *collector, lacking string) string {
	t.Helper()
	select {
	case <-col.exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("the collector did not fail within 15s %s:\n%s", lacking, col.out.String())
	}
	require.NotZero(t, col.cmd.ProcessState.ExitCode(), "a collector that stops at start must fail")
	return col.out.String()
}

// hasExited reports whether the collector process has ended.
func (c *collector) hasExited() bool {
	select {
	case <-c.exited:
		return true
	default:
		return false
	}
}

// waitUntilReporting runs probe until its exec shows up in logs, which proves
// the whole path from kernel to sink works, and returns the pids it used.
func waitUntilReporting(t *testing.T, col *collector, logs *consumertest.LogsSink, probe string) map[int64]struct{} {
	t.Helper()
	pids := make(map[int64]struct{})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		// ProcessState may only be read once the Wait goroutine is done.
		if col.hasExited() {
			t.Fatalf("collector exited early: %s", col.cmd.ProcessState)
		}
		pid, _ := runOnce(t, probe)
		pids[pid] = struct{}{}
		// Give one run about five batch timeouts to arrive before trying again.
		for range 5 {
			time.Sleep(200 * time.Millisecond)
			if sawExecOf(logs, probe) {
				return pids
			}
		}
	}
	t.Fatalf("no %s record for %s within 30s", eventExec, probe)
	return nil
}

// sawExecOf reports whether logs holds an exec record for the executable at path.
func sawExecOf(logs *consumertest.LogsSink, path string) bool {
	found := false
	forEachRecord(logs, func(r plog.LogRecord) {
		if r.EventName() == eventExec && stringAttr(r, attrExePath) == path {
			found = true
		}
	})
	return found
}

// runWindow is the wall-clock interval around one process's Run.
type runWindow struct{ start, end time.Time }

// runOnce runs path to completion and returns its pid and when it ran.
func runOnce(t *testing.T, path string) (int64, runWindow) {
	t.Helper()
	cmd := exec.Command(path)
	start := time.Now()
	require.NoError(t, cmd.Run())
	end := time.Now()
	return int64(cmd.ProcessState.Pid()), runWindow{start: start, end: end}
}

// pidRecords holds the exec and exit records seen for one pid.
type pidRecords struct {
	execs, exits []plog.LogRecord
}

// recordsByPID groups every exec and exit record in logs by process.pid.
func recordsByPID(logs *consumertest.LogsSink) map[int64]*pidRecords {
	byPID := make(map[int64]*pidRecords)
	forEachRecord(logs, func(r plog.LogRecord) {
		pid, ok := r.Attributes().Get(attrPID)
		if !ok || pid.Type() != pcommon.ValueTypeInt {
			return
		}
		got := byPID[pid.Int()]
		if got == nil {
			got = new(pidRecords)
			byPID[pid.Int()] = got
		}
		switch r.EventName() {
		case eventExec:
			got.execs = append(got.execs, r)
		case eventExit:
			got.exits = append(got.exits, r)
		}
	})
	return byPID
}

// forEachRecord calls fn for every log record the sink has received so far.
func forEachRecord(logs *consumertest.LogsSink, fn func(plog.LogRecord)) {
	for _, ld := range logs.AllLogs() {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, r := range sl.LogRecords().All() {
					fn(r)
				}
			}
		}
	}
}

// resourceOf returns the resource that r was delivered under.
func resourceOf(logs *consumertest.LogsSink, r plog.LogRecord) (pcommon.Resource, bool) {
	for _, ld := range logs.AllLogs() {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, other := range sl.LogRecords().All() {
					if other == r {
						return rl.Resource(), true
					}
				}
			}
		}
	}
	return pcommon.Resource{}, false
}

// commandLine returns r's arguments joined by spaces, for comparisons.
func commandLine(r plog.LogRecord) string {
	v, ok := r.Attributes().Get(attrCommandArgs)
	if !ok {
		return ""
	}
	args := make([]string, 0, v.Slice().Len())
	for _, a := range v.Slice().All() {
		args = append(args, a.Str())
	}
	return strings.Join(args, " ")
}

// argsBytes returns the bytes of r's arguments, separators not counted:
// what max_command_line_length bounds.
func argsBytes(r plog.LogRecord) int {
	v, ok := r.Attributes().Get(attrCommandArgs)
	if !ok {
		return 0
	}
	var n int
	for _, a := range v.Slice().All() {
		n += len(a.Str())
	}
	return n
}

// checkRecords asserts that pid has exactly one exec and one exit record and
// that both describe the probe run by this test within window. It returns
// false when the records carry no executable path (they may not: see the
// caller), and fails the test when they carry a wrong one.
func checkRecords(t *testing.T, pid int64, got *pidRecords, probe string, parent int64, window runWindow) (named bool) {
	t.Helper()
	if !assert.NotNil(t, got, "no record for pid %d", pid) {
		return true
	}
	named = true
	assert.Equal(t, 1, len(got.execs), "%s records for pid %d", eventExec, pid)
	assert.Equal(t, 1, len(got.exits), "%s records for pid %d", eventExit, pid)
	for _, r := range slices.Concat(got.execs, got.exits) {
		what := fmt.Sprintf("%s pid %d", r.EventName(), pid)
		if path := stringAttr(r, attrExePath); path != "" {
			assert.Equal(t, probe, path, "%s: %s", what, attrExePath)
		} else {
			named = false
		}
		assert.Equal(t, parent, intAttr(r, attrParentPID), "%s: %s", what, attrParentPID)
		ts := r.Timestamp().AsTime()
		assert.WithinRange(t, ts, window.start.Add(-clockSlack), window.end.Add(clockSlack), "%s: Timestamp", what)
	}
	for _, r := range got.exits {
		code, ok := r.Attributes().Get(attrExitCode)
		if assert.True(t, ok, "exit pid %d: no %s", pid, attrExitCode) {
			assert.Equal(t, pcommon.ValueTypeInt, code.Type(), "exit pid %d: %s type", pid, attrExitCode)
			assert.Equal(t, int64(0), code.Int(), "exit pid %d: %s", pid, attrExitCode)
		}
	}
	return named
}

// stringAttr returns r's string attribute key, or "" when absent.
func stringAttr(r plog.LogRecord, key string) string {
	v, ok := r.Attributes().Get(key)
	if !ok {
		return ""
	}
	return v.AsString()
}

// intAttr returns r's int attribute key, or -1 when absent or not an int.
func intAttr(r plog.LogRecord, key string) int64 {
	v, ok := r.Attributes().Get(key)
	if !ok || v.Type() != pcommon.ValueTypeInt {
		return -1
	}
	return v.Int()
}

// latestSum returns the newest value of the cumulative monotonic sum called
// name. Exports may arrive out of order, and such a sum never decreases, so
// the largest value seen is the latest.
func latestSum(metrics *consumertest.MetricsSink, name string) (int64, error) {
	var latest int64
	found := false
	for _, md := range metrics.AllMetrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Name() != name {
						continue
					}
					if err := checkCumulativeSum(m); err != nil {
						return 0, err
					}
					for _, dp := range m.Sum().DataPoints().All() {
						found = true
						latest = max(latest, pointValue(dp))
					}
				}
			}
		}
	}
	if !found {
		return 0, fmt.Errorf("no data point for %s yet", name)
	}
	return latest, nil
}

// checkCumulativeSum reports why m is not a cumulative monotonic sum, if it is not.
func checkCumulativeSum(m pmetric.Metric) error {
	if m.Type() != pmetric.MetricTypeSum {
		return fmt.Errorf("%s is a %s, want a sum", m.Name(), m.Type())
	}
	if m.Sum().AggregationTemporality() != pmetric.AggregationTemporalityCumulative {
		return fmt.Errorf("%s has temporality %s, want cumulative", m.Name(), m.Sum().AggregationTemporality())
	}
	if !m.Sum().IsMonotonic() {
		return fmt.Errorf("%s is not monotonic", m.Name())
	}
	return nil
}

// pointValue returns a data point's value as an integer, whichever type it has.
func pointValue(dp pmetric.NumberDataPoint) int64 {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeDouble {
		return int64(dp.DoubleValue())
	}
	return dp.IntValue()
}

// stopGrace is how long a collector may take to exit after SIGTERM: the
// DaemonSet's terminationGracePeriodSeconds, after which Kubernetes kills it
// and what it still held is lost.
const stopGrace = 10 * time.Second

// stopCollector sends SIGTERM and expects a clean exit within stopGrace.
func stopCollector(t *testing.T, col *collector) {
	t.Helper()
	require.NoError(t, col.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-col.exited:
	case <-time.After(stopGrace):
		t.Fatalf("collector did not exit within %s of SIGTERM", stopGrace)
	}
	// ExitCode is -1 when the process died of a signal instead of exiting.
	require.Equal(t, 0, col.cmd.ProcessState.ExitCode(), "collector after SIGTERM: %s", col.cmd.ProcessState)
}

// syncBuffer is a bytes.Buffer that the collector's output goroutines and the
// test may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p under the lock.
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
