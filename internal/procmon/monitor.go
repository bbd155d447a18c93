package procmon

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/internal/procfs"
)

// ErrStopped is returned by Initialize after Stop.
var ErrStopped = errors.New("process monitor is stopped")

// ErrScan wraps a failed scan of /proc. Initialize may return it while the
// monitor runs: only the report of the processes already running is missing.
var ErrScan = errors.New("scanning running processes failed")

// Monitor watches process execs and exits. Create it with New, subscribe,
// call Initialize, and Stop it when done.
type Monitor struct {
	cfg   Config
	log   *zap.Logger
	fs    procfs.FS
	clock *wallClock
	// now tells the time for the main loop's rate limits; tests replace it.
	now func() time.Time
	ctr counters

	// Subscribers are copy-on-write slices so that the hot path reads them
	// with one atomic load and no lock.
	subMu     sync.Mutex
	execSubs  atomic.Pointer[[]*subscription]
	exitSubs  atomic.Pointer[[]*subscription]
	otherSubs atomic.Pointer[[]*subscription]

	// lifeMu orders Initialize and Stop.
	lifeMu      sync.Mutex
	initialized bool
	initErr     error
	stopped     bool
	workersUp   bool

	ctx    context.Context
	cancel context.CancelFunc
	loops  sync.WaitGroup // main loop and housekeeping
	queues []chan *ProcessEvent
	busy   sync.WaitGroup // workers
	// abandon tells the workers to count what is left instead of delivering
	// it, once Stop has waited DrainTimeout.
	abandon atomic.Bool
	depth   atomic.Int64 // deepest queue seen since the last stats log

	srcMu sync.Mutex
	src   procevent.Source
	srcUp bool // false once Stop has closed the source for good

	table pidTable
}

// New returns a monitor; nothing runs until Initialize.
func New(cfg Config) *Monitor {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	m := &Monitor{
		cfg:    cfg,
		log:    cfg.Logger,
		fs:     procfs.FS{Root: cfg.ProcRoot},
		clock:  newWallClock(),
		now:    time.Now,
		ctx:    ctx,
		cancel: cancel,
		srcUp:  true,
		table:  newPidTable(cfg.MaxTracked),
	}
	return m
}

// Counters returns a snapshot of the monitor's counters.
func (m *Monitor) Counters() Counters {
	c := m.ctr.snapshot()
	c.Tracked, c.Evictions = m.table.stats()
	return c
}

// Initialize starts the monitor: callback workers, the source, the main event
// loop and, when configured and someone listens for execs, a scan of the
// processes already running. It runs once; later calls return the first
// call's result. A failed scan is counted and returned, but the monitor keeps
// running.
func (m *Monitor) Initialize() error {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	if m.stopped {
		return ErrStopped
	}
	if m.initialized {
		return m.initErr
	}
	m.initialized = true
	m.initErr = m.initialize()
	return m.initErr
}

func (m *Monitor) initialize() error {
	m.startWorkers()
	src, err := m.cfg.Open()
	if err != nil {
		m.stopWorkers()
		return err
	}
	m.srcMu.Lock()
	m.src = src
	m.srcMu.Unlock()

	m.loops.Add(2)
	go m.run(src)
	go m.housekeep()

	if m.cfg.ScanExisting && len(subscribers(&m.execSubs)) > 0 {
		if err := m.scan(InitialScan); err != nil {
			return err
		}
	}
	return nil
}

// Stop ends the main loop, closes the source and waits for every goroutine,
// letting the workers finish the events already queued. It is safe to call
// more than once, and without Initialize.
func (m *Monitor) Stop() {
	// Cancel before taking lifeMu: an Initialize whose scan waits for queue
	// room holds it, and waits on this.
	m.cancel()
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	if m.stopped {
		return
	}
	m.stopped = true
	m.srcMu.Lock()
	m.srcUp = false
	if m.src != nil {
		_ = m.src.Close()
	}
	m.srcMu.Unlock()
	m.loops.Wait()
	m.stopWorkers()
}
