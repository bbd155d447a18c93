package procmonreceiver

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/receiver/procmonreceiver/internal/metadata"
)

// refusingLogs refuses its first refuse batches with err (all of them when
// refuse is negative), then takes them into its sink.
type refusingLogs struct {
	consumertest.LogsSink
	mu     sync.Mutex
	refuse int
	err    error
	calls  int
	pause  time.Duration // how long each call takes
}

func (c *refusingLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	c.mu.Lock()
	c.calls++
	refuse := c.refuse != 0
	if c.refuse > 0 {
		c.refuse--
	}
	c.mu.Unlock()
	time.Sleep(c.pause)
	if refuse {
		return c.err
	}
	return c.LogsSink.ConsumeLogs(ctx, ld)
}

func (c *refusingLogs) Calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

var _ consumer.Logs = (*refusingLogs)(nil)

// sendExecs sends an exec of each pid from first to first+n-1.
func (h *harness) sendExecs(first, n int32) {
	for pid := first; pid < first+n; pid++ {
		h.send(procevent.Event{Kind: procevent.KindExec, PID: pid, TGID: pid})
	}
}

// oneBatchOf makes the receiver send batches of exactly n records.
func oneBatchOf(n int) func(*Config) {
	return func(c *Config) {
		c.MaxBatchSize = n
		c.FlushInterval = time.Hour
		c.Workers = 1
	}
}

func (h *harness) refusedLogs() uint64 { return h.rcv.refused[signalLogs].Load() }

func TestRetryableRefusalHoldsTheBatchUntilTaken(t *testing.T) {
	next := &refusingLogs{refuse: 3, err: errors.New("memory limit exceeded")}
	h := newHarness(t, t.TempDir(), oneBatchOf(5), next)
	h.sendExecs(1, 5)
	require.Eventually(t, func() bool { return next.LogRecordCount() == 5 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, 4, next.Calls(), "three refusals, then taken")
	require.Zero(t, h.refusedLogs())
	require.Equal(t, 1, h.obs.FilterMessageSnippet("took procmon's held log records").Len())
}

func TestPermanentRefusalIsCountedNotRetried(t *testing.T) {
	next := &refusingLogs{refuse: -1, err: consumererror.NewPermanent(errors.New("malformed"))}
	h := newHarness(t, t.TempDir(), oneBatchOf(10), next)
	h.sendExecs(1, 10)
	require.Eventually(t, func() bool { return h.refusedLogs() == 10 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, 1, next.Calls())
	require.Eventually(t, func() bool {
		return latestValues(h.mets)["procmon.records.refused/logs"] == 10
	}, 10*time.Second, 5*time.Millisecond, "the refused records are in procmon.records.refused")
}

func TestRetryGivesUpAndCounts(t *testing.T) {
	next := &refusingLogs{refuse: -1, err: errors.New("sending queue is full")}
	h := newHarness(t, t.TempDir(), func(c *Config) {
		oneBatchOf(4)(c)
		c.RetryOnFailure.InitialInterval = time.Millisecond
		c.RetryOnFailure.MaxInterval = 4 * time.Millisecond
		c.RetryOnFailure.MaxElapsedTime = 50 * time.Millisecond
	}, next)
	h.sendExecs(1, 4)
	require.Eventually(t, func() bool { return h.refusedLogs() == 4 }, 10*time.Second, 5*time.Millisecond)
	require.Greater(t, next.Calls(), 2, "retried before giving up")
	require.Zero(t, next.LogRecordCount())
}

func TestRetryWithZeroIntervalsDoesNotSpin(t *testing.T) {
	next := &refusingLogs{refuse: -1, err: errors.New("sending queue is full")}
	h := newHarness(t, t.TempDir(), func(c *Config) {
		oneBatchOf(4)(c)
		c.RetryOnFailure.InitialInterval = 0
		c.RetryOnFailure.MaxInterval = 0
		c.RetryOnFailure.Multiplier = 0
		c.RetryOnFailure.RandomizationFactor = 0
		c.RetryOnFailure.MaxElapsedTime = 20 * time.Millisecond
	}, next)
	h.sendExecs(1, 4)
	require.Eventually(t, func() bool { return h.refusedLogs() == 4 }, 10*time.Second, 5*time.Millisecond)
	// A millisecond at least between attempts: no more than about 20.
	require.LessOrEqual(t, next.Calls(), 25)
	require.Greater(t, next.Calls(), 2)
}

func TestRetryOffSendsOnce(t *testing.T) {
	next := &refusingLogs{refuse: -1, err: errors.New("memory limit exceeded")}
	h := newHarness(t, t.TempDir(), func(c *Config) {
		oneBatchOf(4)(c)
		c.RetryOnFailure.Enabled = false
	}, next)
	h.sendExecs(1, 4)
	require.Eventually(t, func() bool { return h.refusedLogs() == 4 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, 1, next.Calls())
}

func TestShutdownEndsAHeldBatchAndCountsIt(t *testing.T) {
	next := &refusingLogs{refuse: -1, err: errors.New("memory limit exceeded")}
	h := newHarness(t, t.TempDir(), oneBatchOf(4), next)
	h.sendExecs(1, 6) // a held batch of 4, and 2 queued behind it
	require.Eventually(t, func() bool { return next.Calls() > 0 }, 10*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return h.rcv.mon.Counters().Exec == 6 }, 10*time.Second, 5*time.Millisecond)
	// The default retry holds a batch for 30s; Shutdown must not wait it out.
	require.NoError(t, h.rcv.Shutdown(context.Background()))
	require.EqualValues(t, 6, h.refusedLogs())
	require.EqualValues(t, 6, latestValues(h.mets)["procmon.records.refused/logs"], "the last snapshot has them")
}

// TestEveryExecIsAccountedFor sends execs faster than a slow, sometimes
// refusing consumer takes them: each is delivered, dropped from a full
// queue, or refused, and counted as such.
func TestEveryExecIsAccountedFor(t *testing.T) {
	const n = 3000
	next := &refusingLogs{err: consumererror.NewPermanent(errors.New("too large")), pause: 2 * time.Millisecond}
	h := newHarness(t, t.TempDir(), func(c *Config) {
		c.MaxBatchSize = 16
		c.QueueSize = 8
		c.Workers = 1
	}, next)
	for first := int32(1); first <= n; first += 500 {
		next.mu.Lock()
		next.refuse = 3 // some batches of each round are refused
		next.mu.Unlock()
		h.sendExecs(first, 500)
	}
	require.NoError(t, h.rcv.Shutdown(context.Background()))
	c := h.rcv.mon.Counters()
	require.EqualValues(t, n, c.Exec)
	delivered, dropped, refused := uint64(next.LogRecordCount()), c.ExecDropped, h.refusedLogs()
	t.Logf("%d execs: %d delivered, %d dropped, %d refused", n, delivered, dropped, refused)
	require.Positive(t, dropped, "the queue overflowed")
	require.Positive(t, refused, "batches were refused")
	require.EqualValues(t, n, delivered+dropped+refused)
}

// statusHost records the component statuses reported to it.
type statusHost struct {
	component.Host
	mu       sync.Mutex
	statuses []componentstatus.Status
}

func (h *statusHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.statuses = append(h.statuses, ev.Status())
}

func (h *statusHost) seen() []componentstatus.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]componentstatus.Status(nil), h.statuses...)
}

func TestSourceFailureIsReportedRecoverableThenOK(t *testing.T) {
	host := &statusHost{Host: componenttest.NewNopHost()}
	h := newHarnessOn(t, host, t.TempDir(), nil, nil)
	require.Empty(t, host.seen(), "nothing to report while the source runs")
	h.fail <- errors.New("socket gone")
	require.Eventually(t, func() bool {
		return len(host.seen()) == 2
	}, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}, host.seen())
	// The re-opened source delivers.
	h.sendExecs(1, 1)
	require.Eventually(t, func() bool { return h.logs.LogRecordCount() == 1 }, 10*time.Second, 5*time.Millisecond)
}

func TestStartFailureIsReportedPermanent(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.ProcRoot = t.TempDir()
	cfg.ReaderPriority = priorityNormal
	f := newFactory(openerSource(func(*Config) (procevent.Opener, error) {
		return func() (procevent.Source, error) { return nil, errors.New("no proc connector") }, nil
	}))
	rcv, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	host := &statusHost{Host: componenttest.NewNopHost()}
	require.Error(t, rcv.Start(context.Background(), host))
	require.Equal(t, []componentstatus.Status{componentstatus.StatusPermanentError}, host.seen())
	require.NoError(t, rcv.Shutdown(context.Background()))
}
