package procmon

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/procmon-otel/procmon/internal/procfs"
)

// kthreadd is the pid of the kernel's thread creator, parent of every other
// kernel thread.
const kthreadd = 2

// userHZ is the kernel's USER_HZ, the unit of start times in /proc/<pid>/stat;
// it is 100 in the ABI of every architecture Linux supports.
const userHZ = 100

// Config configures a Monitor. Zero values take the defaults noted.
type Config struct {
	// Open opens the event source. Required.
	Open Opener
	// ProcRoot is where the proc filesystem is mounted. Default /proc.
	ProcRoot string
	// ScanExisting reports the processes already running at Initialize to the
	// exec subscribers.
	ScanExisting bool
	// Workers is the number of callback workers. Default runtime.NumCPU().
	Workers int
	// QueueSize is the capacity of each worker's queue. Default 4096.
	QueueSize int
	// RestartBackoff is the first wait before re-opening a failed source; it
	// doubles after each failed attempt up to MaxRestartBackoff. Defaults
	// 100ms and 30s.
	RestartBackoff, MaxRestartBackoff time.Duration
	// MaxTracked bounds the pid table; beyond it the oldest entries are
	// evicted and counted. Default 65536.
	MaxTracked int
	// StatsInterval is how often the monitor logs its counters, re-measures
	// its clock and sweeps its pid table. Default 2 minutes.
	StatsInterval time.Duration
	// Logger receives the monitor's logs. Default: none.
	Logger *zap.Logger
	// DrainTimeout bounds how long Stop lets the workers deliver the events
	// still queued; what is left then is dropped and counted. Default 500ms.
	DrainTimeout time.Duration
	// RestartOnOverrun re-opens the source after a receive buffer overrun
	// instead of carrying on with it. Off by default: the kernel's sequence
	// numbers count the loss exactly either way, and carrying on loses less
	// (see BenchmarkOverrunStrategy in internal/netlinksource).
	RestartOnOverrun bool
	// ReaderSetup, when set, runs on the main loop's goroutine after it was
	// locked to its own OS thread, before the first event is read: the place
	// to raise that thread's priority. The thread is never given back to the
	// runtime, so what is done to it affects no other goroutine.
	ReaderSetup func()
}

func (c Config) withDefaults() Config {
	if c.ProcRoot == "" {
		c.ProcRoot = "/proc"
	}
	if c.Workers <= 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 4096
	}
	if c.RestartBackoff <= 0 {
		c.RestartBackoff = 100 * time.Millisecond
	}
	if c.MaxRestartBackoff < c.RestartBackoff {
		c.MaxRestartBackoff = max(30*time.Second, c.RestartBackoff)
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 500 * time.Millisecond
	}
	if c.MaxTracked <= 0 {
		c.MaxTracked = 65536
	}
	if c.StatsInterval <= 0 {
		c.StatsInterval = 2 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return c
}

// Callback receives exec or exit events. It runs on a worker goroutine and
// must not keep ev after it returns.
type Callback func(ev *ProcessEvent)

// subscription wraps a Callback so that it has an identity to unsubscribe.
type subscription struct{ fn Callback }

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
	ctr   counters

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
	src   Source
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
		ctx:    ctx,
		cancel: cancel,
		srcUp:  true,
		table:  newPidTable(cfg.MaxTracked),
	}
	return m
}

// SubscribeExec registers cb for exec events, including processes found by
// scans. It returns a function that unsubscribes. It may be called before or
// after Initialize.
func (m *Monitor) SubscribeExec(cb Callback) (unsubscribe func()) {
	return m.subscribe(&m.execSubs, cb)
}

// SubscribeExit registers cb for process exit events.
func (m *Monitor) SubscribeExit(cb Callback) (unsubscribe func()) {
	return m.subscribe(&m.exitSubs, cb)
}

// SubscribeOther registers cb for the other process events: fork of a new
// process, comm, uid, gid, sid, ptrace and coredump.
func (m *Monitor) SubscribeOther(cb Callback) (unsubscribe func()) {
	return m.subscribe(&m.otherSubs, cb)
}

func (m *Monitor) subscribe(list *atomic.Pointer[[]*subscription], cb Callback) func() {
	s := &subscription{fn: cb}
	m.subMu.Lock()
	defer m.subMu.Unlock()
	var next []*subscription
	if cur := list.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, s)
	list.Store(&next)
	var once sync.Once
	return func() {
		once.Do(func() {
			m.subMu.Lock()
			defer m.subMu.Unlock()
			cur := *list.Load()
			next := make([]*subscription, 0, len(cur))
			for _, o := range cur {
				if o != s {
					next = append(next, o)
				}
			}
			list.Store(&next)
		})
	}
}

func subscribers(list *atomic.Pointer[[]*subscription]) []*subscription {
	if p := list.Load(); p != nil {
		return *p
	}
	return nil
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

func (m *Monitor) startWorkers() {
	m.workersUp = true
	m.queues = make([]chan *ProcessEvent, m.cfg.Workers)
	for i := range m.queues {
		q := make(chan *ProcessEvent, m.cfg.QueueSize)
		m.queues[i] = q
		m.busy.Add(1)
		go m.work(q)
	}
}

func (m *Monitor) stopWorkers() {
	if !m.workersUp {
		return
	}
	m.workersUp = false
	for _, q := range m.queues {
		close(q)
	}
	drained := make(chan struct{})
	go func() {
		m.busy.Wait()
		close(drained)
	}()
	select {
	case <-drained:
	case <-time.After(m.cfg.DrainTimeout):
		m.abandon.Store(true)
		<-drained
	}
}

// work runs the callbacks for the events of one queue.
func (m *Monitor) work(q chan *ProcessEvent) {
	defer m.busy.Done()
	rd := m.fs.NewReader()
	for ev := range q {
		if m.abandon.Load() {
			m.ctr.dropped[ev.Kind].Add(1)
			continue
		}
		m.readLate(rd, ev.Process)
		trackIDs(ev)
		list := &m.otherSubs
		switch ev.Kind {
		case KindExec:
			list = &m.execSubs
		case KindExit:
			list = &m.exitSubs
		}
		for _, s := range subscribers(list) {
			s.fn(ev)
			m.ctr.callbacksExecuted.Add(1)
		}
	}
}

// trackIDs fills a uid or gid event's previous ids and records its new ones.
// Only the process's worker calls it, so the entry's current ids need no lock.
func trackIDs(ev *ProcessEvent) {
	p, k := ev.Process, &ev.Kernel
	switch ev.Kind {
	case KindUID:
		ev.PrevIDs, ev.PrevKnown = p.curUIDs, p.curUIDsSet
		if !ev.PrevKnown && p.IDsKnown {
			ev.PrevIDs, ev.PrevKnown = [2]uint32{p.UIDs[0], p.UIDs[1]}, true
		}
		p.curUIDs, p.curUIDsSet = [2]uint32{k.RealID, k.EffectiveID}, true
	case KindGID:
		ev.PrevIDs, ev.PrevKnown = p.curGIDs, p.curGIDsSet
		if !ev.PrevKnown && p.IDsKnown {
			ev.PrevIDs, ev.PrevKnown = [2]uint32{p.GIDs[0], p.GIDs[1]}, true
		}
		p.curGIDs, p.curGIDsSet = [2]uint32{k.RealID, k.EffectiveID}, true
	}
}

// enqueue hands ev to its worker without waiting. Events of one pid always
// go to the same worker, so an exec is never delivered after its own exit.
// When the queue is full the event is dropped and counted.
func (m *Monitor) enqueue(ev *ProcessEvent) {
	q := m.queueOf(ev.Process.PID)
	if d := int64(len(q)); d > m.depth.Load() {
		m.depth.Store(d)
	}
	select {
	case q <- ev:
		return
	default:
	}
	m.ctr.dropped[ev.Kind].Add(1)
}

// run is the main event loop: it receives from the source and restarts it
// after errors until Stop.
func (m *Monitor) run(src Source) {
	defer m.loops.Done()
	if m.cfg.ReaderSetup != nil {
		runtime.LockOSThread() // never unlocked: the thread ends with the loop
		m.cfg.ReaderSetup()
	}
	sink := loopSink{m, m.fs.NewReader()}
	var lastOverrunScan time.Time
	overrunScanDue := false
	for {
		err := src.Receive(sink)
		if m.ctx.Err() != nil {
			return
		}
		if overrunScanDue && time.Since(lastOverrunScan) >= time.Second {
			overrunScanDue = false
			lastOverrunScan = time.Now()
			m.rescan()
		}
		switch {
		case err == nil:
			continue
		case errors.Is(err, ErrOverrun) && !m.cfg.RestartOnOverrun:
			// The socket is still good and the loss is counted exactly
			// from the kernel's sequence numbers; look for the processes
			// that started meanwhile instead of re-opening.
			m.ctr.overruns.Add(1)
			// In a storm overruns come in runs; a scan per overrun would
			// slow the reader and cause more, so scan at most once a second,
			// and later for an overrun that comes sooner.
			if time.Since(lastOverrunScan) >= time.Second {
				lastOverrunScan = time.Now()
				m.log.Warn("process event source overrun; the kernel dropped events, rescanning /proc", zap.Error(err))
				m.rescan()
			} else {
				overrunScanDue = true
			}
			continue
		}
		if errors.Is(err, ErrOverrun) {
			m.ctr.overruns.Add(1)
		}
		m.ctr.restarts.Add(1)
		m.log.Warn("process event source failed; restarting it", zap.Error(err))
		// Open the new source before closing the old one: while one of
		// procmon's sockets stays subscribed the kernel keeps numbering its
		// events, so the events of the gap are counted as lost rather than
		// never made.
		next := m.reopen()
		_ = src.Close()
		if next == nil {
			return
		}
		src = next
		m.rescan()
	}
}

// reopen opens the source again, retrying with growing backoff; it returns
// nil when the monitor stops first.
func (m *Monitor) reopen() Source {
	wait := m.cfg.RestartBackoff
	for {
		select {
		case <-m.ctx.Done():
			return nil
		case <-time.After(wait):
		}
		src, err := m.cfg.Open()
		if err == nil {
			m.srcMu.Lock()
			defer m.srcMu.Unlock()
			if !m.srcUp {
				_ = src.Close()
				return nil
			}
			m.src = src
			m.log.Info("process event source re-opened")
			return src
		}
		m.ctr.reinitFailures.Add(1)
		m.log.Warn("re-opening the process event source failed; retrying", zap.Error(err), zap.Duration("backoff", wait))
		wait = min(wait*2, m.cfg.MaxRestartBackoff)
	}
}

func (m *Monitor) rescan() {
	if len(subscribers(&m.execSubs)) == 0 {
		return
	}
	if err := m.scan(Rescan); err != nil {
		m.log.Warn("scanning /proc after a source restart failed", zap.Error(err))
	}
}

// housekeep periodically logs the counters, re-measures the clock offsets and
// drops pid table entries of processes whose exit was lost.
func (m *Monitor) housekeep() {
	defer m.loops.Done()
	t := time.NewTicker(m.cfg.StatsInterval)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		m.clock.calibrate()
		swept := m.table.sweep(m.fs.Exists)
		c := m.ctr.snapshot()
		m.log.Debug("process monitor counters",
			zap.Uint64("exec", c.Exec), zap.Uint64("exit", c.Exit),
			zap.Uint64("restarts", c.Restarts), zap.Uint64("reinit_failures", c.ReinitFailures),
			zap.Uint64("scan_failures", c.ScanFailures), zap.Uint64("callbacks_executed", c.CallbacksExecuted),
			zap.Uint64("exec_dropped", c.ExecDropped), zap.Uint64("exit_dropped", c.ExitDropped),
			zap.Uint64("kernel_lost", c.KernelLost), zap.Uint64("malformed", c.Malformed),
			zap.Int64("deepest_queue", m.depth.Swap(0)), zap.Int("tracked", m.table.len()), zap.Int("swept", swept))
	}
}

// scan reports every running process not yet known to the exec subscribers.
func (m *Monitor) scan(kind ScanKind) error {
	pids, err := m.fs.PIDs()
	if err != nil {
		m.ctr.scanFailures.Add(1)
		return fmt.Errorf("%w: %w", ErrScan, err)
	}
	m.table.beginScan()
	defer m.table.endScan()
	now := time.Now()
	rd := m.fs.NewReader()
	// Read everything first, so that every process's parent is known
	// whatever the order of the pids.
	found := make(map[int32]*Process, len(pids))
	for _, pid := range pids {
		if m.ctx.Err() != nil {
			return nil
		}
		if p, ok := m.read(rd, pid); ok {
			found[pid] = p
		}
	}
	for _, pid := range pids {
		p := found[pid]
		if p == nil {
			continue
		}
		if pp := found[p.PPID]; pp != nil {
			p.ParentName = pp.Name()
		}
		m.nameParent(p)
		if kind == InitialScan && !m.waitForRoom(pid) {
			m.ctr.dropped[KindExec].Add(1) // stopped before it found room
			return nil
		}
		ev := &ProcessEvent{Kind: KindExec, Scan: kind, Time: p.StartTime, Observed: now, Process: p, ParentPID: p.PPID}
		// Recording and queueing at once, under the table's lock, orders
		// this exec before the exit of the same process, which the main
		// loop takes and queues under the same lock.
		m.table.addIfNewThen(p, func() { m.enqueue(ev) })
	}
	return nil
}

// waitForRoom waits until pid's worker queue has room, or Stop; it returns
// false on Stop.
func (m *Monitor) waitForRoom(pid int32) bool {
	q := m.queueOf(pid)
	for len(q) == cap(q) {
		select {
		case <-m.ctx.Done():
			return false
		case <-time.After(time.Millisecond):
		}
	}
	return true
}

func (m *Monitor) queueOf(pid int32) chan *ProcessEvent {
	return m.queues[uint32(pid)%uint32(len(m.queues))]
}

// read gathers what must be read of pid at once, in the order that loses
// least to a process about to exit: the exe link, then stat (which a zombie
// still has), status and the command line. The rest is read by the worker
// (readLate). ok is false when the process is already gone.
func (m *Monitor) read(rd *procfs.Reader, pid int32) (p *Process, ok bool) {
	p = &Process{PID: pid, Missing: 1<<FieldCwd | 1<<FieldCgroup}
	miss := func(f Field) {
		p.Missing |= 1 << f
		m.ctr.misses[f].Add(1)
	}
	exe, exeErr := rd.Exe(pid)
	p.Exe = exe
	st, err := rd.Stat(pid)
	if err == nil {
		p.PPID, p.StartTicks, p.Comm = st.PPID, st.StartTicks, st.Comm
		p.PGID, p.SID, p.Interactive = st.PGRP, st.Session, st.TTY != 0
		p.StartTime = m.clock.fromBoottime(st.StartTicks * (uint64(time.Second) / userHZ))
	} else {
		miss(FieldStat)
	}
	switch {
	case exeErr == nil:
	case pid == kthreadd || p.PPID == kthreadd:
		p.Missing |= 1 << FieldExe // a kernel thread has no executable: not a miss
	default:
		miss(FieldExe)
	}
	if status, err := rd.Status(pid); err == nil {
		p.UIDs, p.GIDs, p.IDsKnown = status.UIDs, status.GIDs, true
	} else {
		miss(FieldStatus)
	}
	if p.Args, err = rd.Cmdline(pid); err != nil {
		miss(FieldCmdline)
	}
	return p, p.Has(FieldExe) || p.Has(FieldStat)
}

// nameParent sets p's ParentName from the pid table, unless it is known.
func (m *Monitor) nameParent(p *Process) {
	if p.ParentName != "" || p.PPID <= 0 {
		return
	}
	if pp := m.table.get(p.PPID); pp != nil {
		p.ParentName = pp.Name()
	}
}

// readLate reads, on p's worker, what can wait: a process that is gone by
// now would not have been named in time anyway. It runs once per entry, for
// the first event of it that the worker sees; the worker is the only one
// that touches these fields.
func (m *Monitor) readLate(rd *procfs.Reader, p *Process) {
	if p.lateRead {
		return
	}
	p.lateRead = true
	if cwd, err := rd.Cwd(p.PID); err == nil {
		p.Cwd = cwd
		p.Missing &^= 1 << FieldCwd
	} else {
		m.ctr.misses[FieldCwd].Add(1)
	}
	if cg, err := rd.Cgroup(p.PID); err == nil {
		p.Cgroup, p.ContainerID = cg, procfs.ContainerID(cg)
		p.Missing &^= 1 << FieldCgroup
	} else {
		m.ctr.misses[FieldCgroup].Add(1)
	}
}

// loopSink is the main loop's view of the source's output.
type loopSink struct {
	m  *Monitor
	rd *procfs.Reader // the main loop's
}

func (s loopSink) Lost(n uint64) {
	s.m.ctr.kernelLost.Add(n)
	s.m.table.lost()
}

func (s loopSink) Malformed() { s.m.ctr.malformed.Add(1) }

func (s loopSink) Event(ev *Event) {
	m := s.m
	if ev.Kind >= NumKinds {
		m.ctr.malformed.Add(1) // a source that broke its contract
		return
	}
	m.ctr.events[ev.Kind].Add(1)
	switch ev.Kind {
	case KindExec:
		m.ctr.exec.Add(1)
		s.exec(ev)
	case KindExit:
		if ev.PID != ev.TGID {
			return // a thread, not a process
		}
		m.ctr.exit.Add(1)
		s.exit(ev)
	case KindFork:
		if ev.PID != ev.TGID || !m.tracking() {
			return // a new thread, not a new process
		}
		// A new process runs its parent's program until it execs; remember
		// that so that the exit of a child that never execs can name it.
		child := m.table.inherit(ev.PID, ev.ParentTGID)
		s.other(ev, child)
	case KindNone:
	default:
		if len(subscribers(&m.otherSubs)) > 0 {
			s.other(ev, m.table.get(ev.TGID))
		}
	}
}

// tracking reports whether anyone needs the pid table.
func (m *Monitor) tracking() bool {
	return len(subscribers(&m.execSubs)) > 0 || len(subscribers(&m.exitSubs)) > 0 ||
		len(subscribers(&m.otherSubs)) > 0
}

func (s loopSink) exec(ev *Event) {
	m := s.m
	if !m.tracking() {
		return
	}
	p, _ := m.read(s.rd, ev.TGID)
	if p.PPID == 0 {
		// Gone before its stat was read: its fork said who the parent was.
		if old := m.table.get(p.PID); old != nil {
			p.PPID = old.PPID
		}
	}
	m.nameParent(p)
	m.table.put(p)
	// Queued even with no exec subscriber: the worker reads the late fields
	// that the exit or other events of this process will carry.
	m.enqueue(&ProcessEvent{
		Kind:      KindExec,
		Time:      m.clock.fromMonotonic(ev.Timestamp),
		Observed:  time.Now(),
		CPU:       ev.CPU,
		Process:   p,
		ParentPID: p.PPID,
	})
}

func (s loopSink) exit(ev *Event) {
	m := s.m
	if !m.tracking() {
		return
	}
	notify := len(subscribers(&m.exitSubs)) > 0
	m.table.takeThen(ev.TGID, func(p *Process, epoch uint64) {
		if !notify {
			return
		}
		if p == nil || !m.sameProcess(p, epoch) {
			p = &Process{PID: ev.TGID, PPID: ev.ParentTGID, Missing: 1<<NumFields - 1, lateRead: true}
		}
		parent := p.PPID
		if parent == 0 {
			// The kernel's parent field is zero when the parent reaped the
			// child first, so it is only the fallback.
			parent = ev.ParentTGID
		}
		code, sig, core := decodeExitStatus(ev.ExitStatus)
		m.enqueue(&ProcessEvent{
			Kind:       KindExit,
			Time:       m.clock.fromMonotonic(ev.Timestamp),
			Observed:   time.Now(),
			CPU:        ev.CPU,
			Process:    p,
			ParentPID:  parent,
			ExitCode:   code,
			Signal:     sig,
			CoreDumped: core,
			Kernel:     *ev,
		})
	})
}

// sameProcess reports whether the exiting process is the one p describes.
// Only after the kernel lost events since p was recorded can it be another
// one that reused the pid (its fork and exec lost); then the exiting
// process's start time, still readable at its exit, tells.
func (m *Monitor) sameProcess(p *Process, epoch uint64) bool {
	if p.lossEpoch == epoch || p.StartTicks == 0 {
		return true
	}
	st, err := m.fs.Stat(p.PID)
	if err != nil || st.StartTicks == p.StartTicks {
		return true // reaped already: nothing says otherwise
	}
	m.ctr.pidReuse.Add(1)
	return false
}

// other queues a fork, comm, uid, gid, sid, ptrace or coredump event for the
// subscribers of those.
func (s loopSink) other(ev *Event, p *Process) {
	m := s.m
	if len(subscribers(&m.otherSubs)) == 0 {
		return
	}
	if p == nil {
		p = &Process{PID: ev.TGID, PPID: ev.ParentTGID, Missing: 1<<NumFields - 1, lateRead: true}
	}
	m.enqueue(&ProcessEvent{
		Kind:      ev.Kind,
		Time:      m.clock.fromMonotonic(ev.Timestamp),
		Observed:  time.Now(),
		CPU:       ev.CPU,
		Process:   p,
		ParentPID: p.PPID,
		Kernel:    *ev,
	})
}
