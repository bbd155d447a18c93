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
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/procmon-otel/procmon/internal/filter"
	"github.com/procmon-otel/procmon/internal/passwd"
	"github.com/procmon-otel/procmon/internal/procevent"
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
	started  bool  // Start was called
	startErr error // what the first Start returned
	shutdown bool

	source    string // the source in use, once started
	host      component.Host
	obs       *receiverhelper.ObsReport
	mon       *procmon.Monitor
	batch     *logBatcher
	filter    *filter.Filter
	filtered  [procevent.NumKinds]atomic.Uint64
	refused   [numSignals]atomic.Uint64
	resources *resources
	emitter   *metricsEmitter
	startTS   pcommon.Timestamp // the metrics' start time
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	// stopping is closed when Shutdown begins: a batch held for a retry is
	// then refused at once rather than holding Shutdown up.
	stopping chan struct{}
}

var (
	_ receiver.Logs    = (*procmonReceiver)(nil)
	_ receiver.Metrics = (*procmonReceiver)(nil)
)

func newReceiver(cfg *Config, set receiver.Settings, pick sourceFunc, onShutdown func()) *procmonReceiver {
	return &procmonReceiver{cfg: cfg, set: set, pick: pick, onShutdown: onShutdown, stopping: make(chan struct{})}
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
// A setup failure (privileges, namespaces, kernel support) is returned, and
// reported as a permanent error.
func (r *procmonReceiver) Start(_ context.Context, host component.Host) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.shutdown {
		return errors.New("procmon receiver was shut down; it cannot be started again")
	}
	if r.started {
		// The other pipeline's Start: the first one's outcome stands.
		return r.startErr
	}
	r.started = true
	r.startErr = r.start(host)
	if r.startErr != nil {
		componentstatus.ReportStatus(host, componentstatus.NewPermanentErrorEvent(r.startErr))
	}
	return r.startErr
}

// start is Start under r.mu.
func (r *procmonReceiver) start(host component.Host) error {
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
	r.source, r.host = src.name, host
	logMissingCapabilities(r.set.Logger, src.name)
	r.resources = newResources(r.cfg.ResourceAttributes)
	r.startTS = pcommon.NewTimestampFromTime(time.Now())
	r.emitter = newMetricsEmitter(r.cfg.MetricsBuilderConfig, r.set, r.startTS, r.resources.metrics(src.name))

	r.mon = procmon.New(procmon.Config{
		Open:         src.open,
		ProcRoot:     r.cfg.ProcRoot,
		ScanExisting: r.cfg.ScanExistingProcesses,
		Workers:      r.cfg.Workers,
		QueueSize:    r.cfg.QueueSize,
		MaxTracked:   r.cfg.MaxTrackedProcesses,
		Logger:       r.set.Logger,
		ReaderSetup:  src.readerSetup,
		SourceState:  r.reportSourceState,
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
		if src.notEBPF != nil {
			return fmt.Errorf("procmon: neither event source can run here: eBPF: %w; netlink: %w", src.notEBPF, err)
		}
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
	users := passwd.NewUsers(passwd.PathBeside(r.cfg.ProcRoot))
	if err := users.Err(); err != nil {
		r.set.Logger.Warn("procmon cannot read user names; records will carry user ids only", zap.Error(err))
	}
	r.batch = &logBatcher{
		max: r.cfg.MaxBatchSize, resources: r.resources, version: r.set.BuildInfo.Version, send: r.sendLogs,
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
	close(r.stopping)
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
