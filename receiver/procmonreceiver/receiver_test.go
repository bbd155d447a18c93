package procmonreceiver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/procmon-otel/procmon/internal/procmon"
)

// feedSource hands the events sent on its channel to the monitor, as a
// kernel socket would, and fails once closed.
type feedSource struct {
	events chan procmon.Event
	once   sync.Once
	closed chan struct{}
}

func (s *feedSource) Receive(sink procmon.Sink) error {
	select {
	case ev := <-s.events:
		sink.Event(&ev)
		return nil
	case <-s.closed:
		return errors.New("feed source closed")
	}
}

func (s *feedSource) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// harness is a receiver built by the factory around one feedSource.
type harness struct {
	src  *feedSource
	rcv  *procmonReceiver
	logs *consumertest.LogsSink
	mets *consumertest.MetricsSink
	obs  *observer.ObservedLogs
}

// fakeProc lays out /proc/<pid> for one process under a new proc root.
func fakeProc(t *testing.T, pid int, exe string, args ...string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, itoa(pid))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.Symlink(exe, filepath.Join(dir, "exe")))
	cmdline := ""
	for _, a := range args {
		cmdline += a + "\x00"
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cmdline"), []byte(cmdline), 0o644))
	stat := itoa(pid) + " (x) S 77 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12345 0 0\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644))
	return root
}

func itoa(n int) string { return strconv.Itoa(n) }

// newHarness creates and starts a receiver on a feed source with cfg
// adjusted by edit; logs and metrics go to sinks (or to next when given).
func newHarness(t *testing.T, procRoot string, edit func(*Config), next consumer.Logs) *harness {
	t.Helper()
	h := &harness{
		src:  &feedSource{events: make(chan procmon.Event), closed: make(chan struct{})},
		logs: new(consumertest.LogsSink),
		mets: new(consumertest.MetricsSink),
	}
	if next == nil {
		next = h.logs
	}
	cfg := createDefaultConfig()
	cfg.ProcRoot = procRoot
	cfg.ScanExistingProcesses = false
	cfg.ReaderPriority = priorityNormal
	cfg.FlushInterval = 10 * time.Millisecond
	cfg.CollectionInterval = 10 * time.Millisecond
	if edit != nil {
		edit(cfg)
	}
	f := newFactory(func(*Config) (procmon.Opener, error) {
		return func() (procmon.Source, error) { return h.src, nil }, nil
	})
	set := receivertest.NewNopSettings(componentType)
	core, obs := observer.New(zap.DebugLevel)
	set.Logger = zap.New(core)
	h.obs = obs
	lr, err := f.CreateLogs(context.Background(), set, cfg, next)
	require.NoError(t, err)
	mr, err := f.CreateMetrics(context.Background(), set, cfg, h.mets)
	require.NoError(t, err)
	require.Same(t, lr, mr)
	h.rcv = lr.(*procmonReceiver)
	require.NoError(t, h.rcv.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, h.rcv.Shutdown(context.Background())) })
	return h
}

func (h *harness) send(evs ...procmon.Event) {
	for _, ev := range evs {
		h.src.events <- ev
	}
}

func records(sink *consumertest.LogsSink) []plog.LogRecord {
	var out []plog.LogRecord
	for _, ld := range sink.AllLogs() {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, r := range sl.LogRecords().All() {
					out = append(out, r)
				}
			}
		}
	}
	return out
}

func TestExecAndExitBecomeRecords(t *testing.T) {
	root := fakeProc(t, 4242, "/usr/bin/curl", "curl", "-s", "http://example.test/")
	h := newHarness(t, root, nil, nil)
	h.send(
		procmon.Event{Kind: procmon.KindExec, PID: 4242, TGID: 4242, CPU: 1, Timestamp: 1},
		procmon.Event{Kind: procmon.KindExit, PID: 4242, TGID: 4242, ExitStatus: 9, Timestamp: 2},
	)
	require.Eventually(t, func() bool { return len(records(h.logs)) == 2 }, 5*time.Second, 5*time.Millisecond)
	recs := records(h.logs)
	require.Equal(t, eventNameExec, recs[0].EventName())
	require.Equal(t, map[string]any{
		attrPID: int64(4242), attrParentPID: int64(77), attrExecutableName: "curl",
		attrExecutablePath: "/usr/bin/curl", attrCommandLine: "curl -s http://example.test/", attrCPU: int64(1),
	}, recs[0].Attributes().AsRaw())
	require.Equal(t, eventNameExit, recs[1].EventName())
	exit := recs[1].Attributes().AsRaw()
	require.Equal(t, "SIGKILL", exit[attrExitSignal])
	require.Equal(t, "/usr/bin/curl", exit[attrExecutablePath], "the exit says what exited, from the pid table")
	require.Equal(t, plog.SeverityNumberWarn, recs[1].SeverityNumber())

	rl := h.logs.AllLogs()[0].ResourceLogs().At(0)
	osType, _ := rl.Resource().Attributes().Get("os.type")
	require.Equal(t, "linux", osType.Str())
	require.Equal(t, scopeName, rl.ScopeLogs().At(0).Scope().Name())
}

func TestOnlyConfiguredEvents(t *testing.T) {
	root := fakeProc(t, 10, "/bin/x")
	h := newHarness(t, root, func(c *Config) { c.Events = []string{eventExit} }, nil)
	h.send(
		procmon.Event{Kind: procmon.KindExec, PID: 10, TGID: 10},
		procmon.Event{Kind: procmon.KindExit, PID: 10, TGID: 10},
	)
	require.Eventually(t, func() bool { return len(records(h.logs)) == 1 }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, eventNameExit, records(h.logs)[0].EventName())
	require.Equal(t, "/bin/x", records(h.logs)[0].Attributes().AsRaw()[attrExecutablePath])
}

func TestBatchesBySizeAndFlushesAtShutdown(t *testing.T) {
	h := newHarness(t, t.TempDir(), func(c *Config) {
		c.MaxBatchSize = 3
		c.FlushInterval = time.Hour
		c.Workers = 1
	}, nil)
	for pid := int32(1); pid <= 7; pid++ {
		h.send(procmon.Event{Kind: procmon.KindExec, PID: pid, TGID: pid})
	}
	require.Eventually(t, func() bool { return h.logs.LogRecordCount() == 6 }, 5*time.Second, 5*time.Millisecond)
	for _, ld := range h.logs.AllLogs() {
		require.Equal(t, 3, ld.LogRecordCount(), "a full batch is sent at once")
	}
	require.NoError(t, h.rcv.Shutdown(context.Background()))
	require.Equal(t, 7, h.logs.LogRecordCount(), "Shutdown sends what is left")
}

func TestRefusedLogsAreLoggedNotRetried(t *testing.T) {
	refuse := consumertest.NewErr(errors.New("backend down"))
	h := newHarness(t, t.TempDir(), nil, refuse)
	for pid := int32(1); pid <= 50; pid++ {
		h.send(procmon.Event{Kind: procmon.KindExec, PID: pid, TGID: pid})
	}
	require.Eventually(t, func() bool {
		return h.obs.FilterMessageSnippet("refused procmon's log records").Len() > 0
	}, 5*time.Second, 5*time.Millisecond)
	// The reader is not held up: more events still go through the monitor.
	h.send(procmon.Event{Kind: procmon.KindExec, PID: 99, TGID: 99})
	require.Eventually(t, func() bool { return h.rcv.mon.Counters().Exec == 51 }, 5*time.Second, 5*time.Millisecond)
}

func TestMetricsCarryTheCounters(t *testing.T) {
	h := newHarness(t, t.TempDir(), nil, nil)
	h.send(
		procmon.Event{Kind: procmon.KindFork, PID: 5, TGID: 5, ParentTGID: 1},
		procmon.Event{Kind: procmon.KindExec, PID: 5, TGID: 5},
		procmon.Event{Kind: procmon.KindExit, PID: 6, TGID: 5}, // a thread
		procmon.Event{Kind: procmon.KindExit, PID: 5, TGID: 5},
	)
	want := map[string]int64{"procmon.execs": 1, "procmon.exits": 1, "procmon.callbacks.executed": 2}
	require.Eventually(t, func() bool {
		got := latestValues(h.mets)
		for name, v := range want {
			if got[name] != v {
				return false
			}
		}
		return got["procmon.events/exit"] == 2 && got["procmon.events/fork"] == 1
	}, 5*time.Second, 5*time.Millisecond)
	md := h.mets.AllMetrics()[0]
	m := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0)
	start := m.Sum().DataPoints().At(0).StartTimestamp()
	require.Equal(t, h.rcv.startTS, start, "start time is the receiver's start")
}

// latestValues maps each metric (name/event type for split ones) to its
// value in the newest export.
func latestValues(sink *consumertest.MetricsSink) map[string]int64 {
	all := sink.AllMetrics()
	out := map[string]int64{}
	if len(all) == 0 {
		return out
	}
	ms := all[len(all)-1].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for _, m := range ms.All() {
		for _, dp := range m.Sum().DataPoints().All() {
			key := m.Name()
			if v, ok := dp.Attributes().Get(attrEventType); ok {
				key += "/" + v.Str()
			}
			out[key] = dp.IntValue()
		}
	}
	return out
}

func TestStartReportsSetupFailure(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.ProcRoot = t.TempDir()
	cfg.ReaderPriority = priorityNormal
	boom := errors.New("subscribing needs CAP_NET_ADMIN")
	f := newFactory(func(*Config) (procmon.Opener, error) {
		return func() (procmon.Source, error) { return nil, boom }, nil
	})
	rcv, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(componentType), cfg, consumertest.NewNop())
	require.NoError(t, err)
	err = rcv.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorIs(t, err, boom)
	require.EqualError(t, err, "procmon: subscribing needs CAP_NET_ADMIN")
	require.NoError(t, rcv.Shutdown(context.Background()))
}

func TestStartRefusesMissingProcRoot(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.ProcRoot = filepath.Join(t.TempDir(), "nope")
	f := newFactory(func(*Config) (procmon.Opener, error) {
		return func() (procmon.Source, error) {
			t.Error("no source may be opened without a proc root")
			return nil, errors.New("unreachable")
		}, nil
	})
	rcv, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(componentType), cfg, consumertest.NewNop())
	require.NoError(t, err)
	err = rcv.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "proc_root "+cfg.ProcRoot+" is not readable")
	require.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, rcv.Shutdown(context.Background()))
}
