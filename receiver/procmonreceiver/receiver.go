package procmonreceiver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/procmon-otel/procmon/internal/filter"
	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/internal/procfs"
	"github.com/procmon-otel/procmon/internal/procmon"
	"github.com/procmon-otel/procmon/internal/redact"
)

// procmonReceiver is one procmon entry: one monitor, shared by the logs and
// the metrics pipeline that use it.
type procmonReceiver struct {
	cfg        *Config
	set        receiver.Settings
	pick       sourceFunc
	onShutdown func()

	mu       sync.Mutex
	logs     consumer.Logs
	metrics  consumer.Metrics
	started  bool
	shutdown bool

	source   string // the source in use, once started
	obs      *receiverhelper.ObsReport
	mon      *procmon.Monitor
	batch    *logBatcher
	filter   *filter.Filter
	filtered [procevent.NumKinds]atomic.Uint64
	res      pcommon.Resource
	// metricsRes is res with the source in use.
	metricsRes pcommon.Resource
	startTS    pcommon.Timestamp
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

var (
	_ receiver.Logs    = (*procmonReceiver)(nil)
	_ receiver.Metrics = (*procmonReceiver)(nil)
)

func newReceiver(cfg *Config, set receiver.Settings, pick sourceFunc, onShutdown func()) *procmonReceiver {
	return &procmonReceiver{cfg: cfg, set: set, pick: pick, onShutdown: onShutdown}
}

func (r *procmonReceiver) setLogs(next consumer.Logs) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = next
}

func (r *procmonReceiver) setMetrics(next consumer.Metrics) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.metrics = next
}

// Start starts the monitor once, however many pipelines use this receiver.
// A setup failure (privileges, namespaces, kernel support) is returned.
func (r *procmonReceiver) Start(_ context.Context, _ component.Host) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.shutdown {
		return errors.New("procmon receiver was shut down; it cannot be started again")
	}
	if r.started {
		return nil
	}
	if _, err := os.Stat(r.cfg.ProcRoot); err != nil {
		return fmt.Errorf("proc_root %s is not readable: %w", r.cfg.ProcRoot, err)
	}
	src, err := r.pick(r.cfg, r.set.Logger)
	if err != nil {
		return fmt.Errorf("procmon: %w", err)
	}
	if src.release != nil {
		// After Initialize took the source, this does nothing.
		defer src.release()
	}
	r.obs, err = receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             r.set.ID,
		Transport:              src.name,
		ReceiverCreateSettings: r.set,
	})
	if err != nil {
		return err
	}
	r.started = true
	r.source = src.name
	logMissingCapabilities(r.set.Logger, src.name)
	r.res = hostResource()
	// The metrics also say which source counted them.
	r.metricsRes = pcommon.NewResource()
	r.res.CopyTo(r.metricsRes)
	r.metricsRes.Attributes().PutStr(attrSource, src.name)
	r.startTS = pcommon.NewTimestampFromTime(time.Now())

	r.mon = procmon.New(procmon.Config{
		Open:         src.open,
		ProcRoot:     r.cfg.ProcRoot,
		ScanExisting: r.cfg.ScanExistingProcesses,
		Workers:      r.cfg.Workers,
		QueueSize:    r.cfg.QueueSize,
		MaxTracked:   r.cfg.MaxTrackedProcesses,
		Logger:       r.set.Logger,
		ReaderSetup:  src.readerSetup,
	})
	if r.logs != nil {
		if err := r.subscribe(); err != nil {
			return err
		}
	}
	err = r.mon.Initialize()
	switch {
	case errors.Is(err, procmon.ErrScan):
		r.set.Logger.Warn("procmon could not report the processes already running", zap.Error(err))
	case err != nil:
		r.mon.Stop()
		r.mon = nil
		return fmt.Errorf("procmon: %w", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	if r.batch != nil {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.batch.flushLoop(ctx, r.cfg.FlushInterval)
		}()
	}
	if r.metrics != nil {
		r.every(ctx, r.cfg.CollectionInterval, r.emitMetrics)
	}
	fields := []zap.Field{zap.String("source", src.name), zap.String("proc_root", r.cfg.ProcRoot)}
	if src.why != "" {
		fields = append(fields, zap.String("why", src.why))
	}
	r.set.Logger.Info("procmon receiver started", fields...)
	return nil
}

// subscribe builds the record pipeline and subscribes it to the events
// configured.
func (r *procmonReceiver) subscribe() error {
	mode, err := redact.ParseMode(r.cfg.CommandLine)
	if err != nil {
		return err
	}
	redactor, err := redact.New(r.cfg.RedactPatterns)
	if err != nil {
		return err
	}
	if r.filter, err = filter.New(filter.Config(r.cfg.Filter)); err != nil {
		return err
	}
	users := procfs.NewUsers(procfs.PasswdPath(r.cfg.ProcRoot))
	if err := users.Err(); err != nil {
		r.set.Logger.Warn("procmon cannot read user names; records will carry user ids only", zap.Error(err))
	}
	r.batch = &logBatcher{
		max: r.cfg.MaxBatchSize, res: r.res, version: r.set.BuildInfo.Version, send: r.sendLogs,
		started: make(chan struct{}, 1),
		build:   &recordBuilder{mode: mode, redactor: redactor, users: users, maxLen: r.cfg.MaxCommandLineLength},
	}
	if r.cfg.wants(eventExec) {
		r.mon.SubscribeExec(r.keep)
	}
	if r.cfg.wants(eventExit) {
		r.mon.SubscribeExit(r.keep)
	}
	if kinds := r.cfg.otherKinds(); len(kinds) > 0 {
		r.mon.SubscribeOther(func(ev *procmon.ProcessEvent) {
			if kinds[ev.Kind] {
				r.keep(ev)
			}
		})
	}
	return nil
}

// keep batches ev unless the filter drops its process, which is counted. An
// exit is judged on what was known at the exec, so it shares its exec's fate.
func (r *procmonReceiver) keep(ev *procmon.ProcessEvent) {
	if r.filter.Active() {
		p := ev.Process
		if !r.filter.Keep(filter.Process{
			Name: p.Name(), Path: p.Exe, UID: p.UIDs[1], UIDKnown: p.IDsKnown, ContainerID: p.ContainerID,
		}) {
			r.filtered[ev.Kind].Add(1)
			return
		}
	}
	r.batch.add(ev)
}

// every runs fn every d on a goroutine until ctx ends.
func (r *procmonReceiver) every(ctx context.Context, d time.Duration, fn func()) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fn()
			}
		}
	}()
}

// Shutdown stops the monitor and every goroutine, then delivers what is still
// batched and a last snapshot of the counters. It works without Start and
// more than once.
func (r *procmonReceiver) Shutdown(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.shutdown {
		return nil
	}
	r.shutdown = true
	if r.onShutdown != nil {
		r.onShutdown()
	}
	if r.mon == nil {
		return nil
	}
	r.mon.Stop()
	if r.cancel != nil { // nil when Start failed after making the monitor
		r.cancel()
	}
	r.wg.Wait()
	if r.batch != nil {
		r.batch.flush()
	}
	if r.metrics != nil {
		r.emitMetrics()
	}
	return nil
}

// sendLogs hands one batch to the next consumer. A refusal is counted by
// ObsReport and logged; it is not retried, so the monitor never waits on it.
func (r *procmonReceiver) sendLogs(ld plog.Logs) {
	n := ld.LogRecordCount()
	ctx := r.obs.StartLogsOp(context.Background())
	err := r.logs.ConsumeLogs(ctx, ld)
	r.obs.EndLogsOp(ctx, r.source, n, err)
	if err != nil {
		r.set.Logger.Warn("the next consumer refused procmon's log records", zap.Int("records", n), zap.Error(err))
	}
}

func (r *procmonReceiver) emitMetrics() {
	var filtered [procevent.NumKinds]uint64
	for k := range filtered {
		filtered[k] = r.filtered[k].Load()
	}
	md := buildMetrics(r.mon.Counters(), filtered, r.startTS, pcommon.NewTimestampFromTime(time.Now()), r.metricsRes, r.set.BuildInfo.Version)
	n := md.DataPointCount()
	ctx := r.obs.StartMetricsOp(context.Background())
	err := r.metrics.ConsumeMetrics(ctx, md)
	r.obs.EndMetricsOp(ctx, r.source, n, err)
	if err != nil {
		r.set.Logger.Warn("the next consumer refused procmon's metrics", zap.Error(err))
	}
}

// hostResource describes the host every record comes from.
func hostResource() pcommon.Resource {
	res := pcommon.NewResource()
	if name, err := os.Hostname(); err == nil {
		res.Attributes().PutStr("host.name", name)
	}
	res.Attributes().PutStr("os.type", "linux")
	return res
}

// logBatcher gathers records into batches, sent when full or when flushed.
type logBatcher struct {
	max     int
	res     pcommon.Resource
	version string
	send    func(plog.Logs)
	build   *recordBuilder
	// started has a value when a batch got its first record: the flush loop
	// sleeps on it, so an idle receiver never wakes up.
	started chan struct{}

	mu      sync.Mutex
	ld      plog.Logs
	records plog.LogRecordSlice
	n       int
}

// add appends a record for ev; a worker calls it, and it sends the batch when
// it is full.
func (b *logBatcher) add(ev *procmon.ProcessEvent) {
	b.mu.Lock()
	if b.n == 0 {
		select {
		case b.started <- struct{}{}:
		default:
		}
		b.ld = plog.NewLogs()
		rl := b.ld.ResourceLogs().AppendEmpty()
		b.res.CopyTo(rl.Resource())
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(scopeName)
		sl.Scope().SetVersion(b.version)
		b.records = sl.LogRecords()
		b.records.EnsureCapacity(b.max)
	}
	b.build.appendRecord(b.records, ev)
	b.n++
	var full plog.Logs
	send := b.n >= b.max
	if send {
		full = b.take()
	}
	b.mu.Unlock()
	if send {
		b.send(full)
	}
}

// flushLoop sends each batch at most d after its first record, until ctx
// ends.
func (b *logBatcher) flushLoop(ctx context.Context, d time.Duration) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.started:
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		b.flush()
	}
}

// flush sends what is batched, if anything.
func (b *logBatcher) flush() {
	b.mu.Lock()
	var ld plog.Logs
	send := b.n > 0
	if send {
		ld = b.take()
	}
	b.mu.Unlock()
	if send {
		b.send(ld)
	}
}

func (b *logBatcher) take() plog.Logs {
	ld := b.ld
	b.ld, b.records, b.n = plog.Logs{}, plog.LogRecordSlice{}, 0
	return ld
}
