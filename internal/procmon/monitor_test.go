package procmon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/procmon-otel/procmon/internal/procevent"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	require.Equal(t, "/proc", c.ProcRoot)
	require.Equal(t, runtime.NumCPU(), c.Workers)
	require.Equal(t, 4096, c.QueueSize)
	require.Equal(t, 100*time.Millisecond, c.RestartBackoff)
	require.Equal(t, 30*time.Second, c.MaxRestartBackoff)
	require.Equal(t, 2*time.Minute, c.StatsInterval)
	require.NotNil(t, c.Logger)

	// A first backoff above the default ceiling raises the ceiling.
	c = Config{RestartBackoff: time.Minute}.withDefaults()
	require.Equal(t, time.Minute, c.MaxRestartBackoff)
	c = Config{RestartBackoff: tick, MaxRestartBackoff: 5 * tick}.withDefaults()
	require.Equal(t, 5*tick, c.MaxRestartBackoff)
}

// initializeConcurrently calls Initialize from n goroutines released at once.
func initializeConcurrently(m *Monitor, n int) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = m.Initialize()
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func TestInitializeRunsOnce(t *testing.T) {
	m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir})
	for i, err := range initializeConcurrently(m, 50) {
		require.NoError(t, err, "call %d", i)
	}
	require.Equal(t, 1, op.opens())
	require.NoError(t, m.Initialize(), "a later call returns the first result")
	require.Equal(t, 1, op.opens())
}

func TestInitializeOpenFailsOnce(t *testing.T) {
	m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir})
	// Every open would fail, each with its own error: all calls must share
	// the first one.
	op.fail(100)
	errs := initializeConcurrently(m, 50)
	require.ErrorIs(t, errs[0], errOpen)
	for i, err := range errs {
		require.Equal(t, errs[0], err, "call %d", i)
	}
	require.Equal(t, 1, op.opens())
	require.Equal(t, errs[0], m.Initialize())
	// Nothing is left running, even before Stop.
	goleak.VerifyNone(t)
	stopReturns(t, m)
}

func TestInitializeAfterStop(t *testing.T) {
	t.Run("never initialized", func(t *testing.T) {
		m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir})
		m.Stop()
		require.ErrorIs(t, m.Initialize(), ErrStopped)
		require.Zero(t, op.opens())
	})
	t.Run("initialized", func(t *testing.T) {
		m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir})
		src := initialize(t, m, op)
		m.Stop()
		require.True(t, src.closed.Load())
		require.ErrorIs(t, m.Initialize(), ErrStopped)
		require.Equal(t, 1, op.opens())
	})
}

func TestInitialScan(t *testing.T) {
	proc := newProcRoot(t)
	proc.add(1, 0, 3, "/usr/lib/systemd/systemd", "/sbin/init", "splash")
	proc.add(2, 0, 3, "") // a kernel thread: no exe, no command line
	proc.add(100, 1, 500, "/usr/bin/bash", "-bash")
	proc.add(4242, 100, 987654, "/usr/bin/sleep", "sleep", "10")
	// Not processes, or already gone: skipped.
	require.NoError(t, os.MkdirAll(filepath.Join(proc.dir, "self"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(proc.dir, "77"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(proc.dir, "uptime"), []byte("12.5 40.1\n"), 0o644))

	m, op := newMonitor(t, Config{ProcRoot: proc.dir, ScanExisting: true})
	var execs, exits recorder
	m.SubscribeExec(execs.record)
	m.SubscribeExit(exits.record)
	initialize(t, m, op)
	execs.wait(t, 4)
	m.Stop()

	scanned := func(pid, ppid int32, ticks uint64, exe string, args ...string) ProcessEvent {
		return ProcessEvent{Kind: procevent.KindExec, Scan: InitialScan, Time: startTime(ticks),
			Process: &Process{PID: pid, PPID: ppid, StartTicks: ticks, Exe: exe, Args: args, Argc: len(args)}}
	}
	require.Equal(t, []ProcessEvent{
		scanned(1, 0, 3, "/usr/lib/systemd/systemd", "/sbin/init", "splash"),
		scanned(2, 0, 3, ""),
		scanned(100, 1, 500, "/usr/bin/bash", "-bash"),
		scanned(4242, 100, 987654, "/usr/bin/sleep", "sleep", "10"),
	}, withoutObserved(t, byPID(execs.all())))
	require.Zero(t, exits.count())
	c := m.Counters()
	require.Equal(t, uint64(4), c.CallbacksExecuted)
	require.Zero(t, c.Exec, "scanned processes are not kernel execs")
	require.Zero(t, c.ScanFailures)
}

func TestNoInitialScan(t *testing.T) {
	t.Run("no exec subscriber", func(t *testing.T) {
		// The root does not exist: a scan would fail.
		m, op := newMonitor(t, Config{ProcRoot: filepath.Join(t.TempDir(), "missing"), ScanExisting: true})
		var exits recorder
		m.SubscribeExit(exits.record)
		initialize(t, m, op)
		m.Stop()
		require.Zero(t, exits.count())
		require.Zero(t, m.Counters().CallbacksExecuted)
		require.Zero(t, m.Counters().ScanFailures)
	})
	t.Run("scan not asked for", func(t *testing.T) {
		proc := newProcRoot(t)
		proc.add(100, 1, 500, "/usr/bin/bash", "-bash")
		m, op := newMonitor(t, Config{ProcRoot: proc.dir})
		var execs recorder
		m.SubscribeExec(execs.record)
		initialize(t, m, op)
		m.Stop()
		require.Zero(t, execs.count())
		require.Zero(t, m.Counters().CallbacksExecuted)
	})
}

func TestInitialScanMissingProcRoot(t *testing.T) {
	m, op := newMonitor(t, Config{ProcRoot: filepath.Join(t.TempDir(), "missing"), ScanExisting: true})
	var execs recorder
	m.SubscribeExec(execs.record)
	err := m.Initialize()
	require.ErrorIs(t, err, ErrScan)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.Equal(t, uint64(1), m.Counters().ScanFailures)
	require.Equal(t, err, m.Initialize(), "a later call returns the first result")

	// The monitor runs on: a live exec still arrives, without what /proc
	// would have said.
	op.source(t, 1).sendEvents(t, execEvent(55, 1e9))
	evs := execs.wait(t, 1)
	require.Equal(t, ProcessEvent{Kind: procevent.KindExec, Time: monoTime(1e9), CPU: 2, Process: &Process{PID: 55}},
		withoutObserved(t, evs)[0])
	stopReturns(t, m)
	require.Equal(t, uint64(1), m.Counters().ScanFailures)
}

// curlProc lays out the process the dispatch tests exec.
func curlProc(t *testing.T) (*procRoot, Process) {
	proc := newProcRoot(t)
	p := Process{PID: 300, PPID: 200, StartTicks: 4000, Exe: "/usr/bin/curl",
		Args: []string{"curl", "-s", "http://example.com"}, Argc: 3}
	proc.add(p.PID, p.PPID, p.StartTicks, p.Exe, p.Args...)
	return proc, p
}

func TestExecReachesEverySubscriber(t *testing.T) {
	proc, p := curlProc(t)
	m, op := newMonitor(t, Config{ProcRoot: proc.dir})
	recs := make([]recorder, 3)
	for i := range recs {
		m.SubscribeExec(recs[i].record)
	}
	var exits recorder
	m.SubscribeExit(exits.record)
	src := initialize(t, m, op)

	src.sendEvents(t, execEvent(p.PID, 7e9))
	want := ProcessEvent{Kind: procevent.KindExec, Scan: Live, Time: monoTime(7e9), CPU: 2, Process: &p}
	for i := range recs {
		require.Equal(t, []ProcessEvent{want}, withoutObserved(t, recs[i].wait(t, 1)), "subscriber %d", i)
	}
	require.Eventually(t, func() bool { return m.Counters().CallbacksExecuted == 3 }, waitFor, tick)
	m.Stop()
	require.Zero(t, exits.count())
	c := m.Counters()
	require.Equal(t, uint64(1), c.Events[procevent.KindExec])
	require.Equal(t, uint64(1), c.Exec)
	require.Zero(t, c.Exit)
	require.Equal(t, uint64(3), c.CallbacksExecuted)
}

func TestExitCarriesExecMetadata(t *testing.T) {
	for _, tc := range []struct {
		name         string
		status       uint32
		code, signal int32
		core         bool
	}{
		{"exit code 3", 0x0300, 3, 0, false},
		{"SIGKILL", 9, 0, 9, false},
		{"SIGABRT with core", 0x86, 0, 6, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proc, p := curlProc(t)
			m, op := newMonitor(t, Config{ProcRoot: proc.dir})
			var execs, exits recorder
			m.SubscribeExec(execs.record)
			m.SubscribeExit(exits.record)
			src := initialize(t, m, op)

			src.sendEvents(t, execEvent(p.PID, 7e9))
			// Whatever the exit says of the process must come from the table.
			proc.remove(p.PID)
			thread := exitEvent(p.PID+1, p.PPID, 8e9, 0)
			thread.TGID = p.PID
			// Reparented to init by now: the parent it was started by is kept.
			src.sendEvents(t, thread, exitEvent(p.PID, 1, 9e9, tc.status))

			evs := exits.wait(t, 1)
			require.Equal(t, []ProcessEvent{{Kind: procevent.KindExit, Time: monoTime(9e9), CPU: 1, Process: &p,
				ExitCode: tc.code, Signal: tc.signal, CoreDumped: tc.core}}, withoutObserved(t, evs))
			execs.wait(t, 1)
			m.Stop()
			require.Len(t, exits.all(), 1, "the thread exit is not delivered")
			c := m.Counters()
			require.Equal(t, uint64(1), c.Events[procevent.KindExec])
			require.Equal(t, uint64(2), c.Events[procevent.KindExit], "thread exits are counted as events")
			require.Equal(t, uint64(1), c.Exec)
			require.Equal(t, uint64(1), c.Exit, "thread exits are not process exits")
			require.Equal(t, uint64(2), c.CallbacksExecuted)
			require.Zero(t, m.table.len(), "the exit removed the entry")
		})
	}
}

func TestForkChildExitNamesParentProgram(t *testing.T) {
	proc := newProcRoot(t)
	proc.add(400, 1, 700, "/usr/sbin/nginx", "nginx", "-g", "daemon off;")
	m, op := newMonitor(t, Config{ProcRoot: proc.dir})
	var exits recorder
	m.SubscribeExit(exits.record)
	src := initialize(t, m, op)

	src.sendEvents(t, execEvent(400, 1e9), forkEvent(401, 400, 2e9), exitEvent(401, 400, 3e9, 0))
	evs := exits.wait(t, 1)
	require.Equal(t, []ProcessEvent{{Kind: procevent.KindExit, Time: monoTime(3e9), CPU: 1,
		Process: &Process{PID: 401, PPID: 400, Exe: "/usr/sbin/nginx", Args: []string{"nginx", "-g", "daemon off;"}, Argc: 3}}},
		withoutObserved(t, evs))
	c := m.Counters()
	require.Equal(t, uint64(1), c.Events[procevent.KindFork])
	require.Equal(t, uint64(1), c.Exit)
}

func TestExitOfUnknownProcess(t *testing.T) {
	m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir})
	var exits recorder
	m.SubscribeExit(exits.record)
	src := initialize(t, m, op)

	src.sendEvents(t, exitEvent(500, 42, 4e9, 0x0100))
	evs := exits.wait(t, 1)
	require.Equal(t, []ProcessEvent{{Kind: procevent.KindExit, Time: monoTime(4e9), CPU: 1,
		Process: &Process{PID: 500, PPID: 42}, ExitCode: 1}}, withoutObserved(t, evs))
}

func TestExitParentPID(t *testing.T) {
	for _, tc := range []struct {
		name       string
		inProc     bool  // whether the exec could read the parent from /proc
		exitParent int32 // the parent the kernel's exit event names
		want       int32
	}{
		{"known, reaped by its parent first", true, 0, 200},
		{"known, reparented", true, 1, 200},
		{"unknown at exec", false, 42, 42},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proc, p := curlProc(t)
			if !tc.inProc {
				proc.remove(p.PID)
			}
			m, op := newMonitor(t, Config{ProcRoot: proc.dir})
			var exits recorder
			m.SubscribeExit(exits.record)
			src := initialize(t, m, op)

			src.sendEvents(t, execEvent(p.PID, 1e9), exitEvent(p.PID, tc.exitParent, 2e9, 0))
			require.Equal(t, tc.want, exits.wait(t, 1)[0].ParentPID)
		})
	}
}

func TestUnsubscribe(t *testing.T) {
	// One worker, so that a later subscriber's call proves an earlier one's.
	m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir, Workers: 1})
	var a, b, c recorder
	unsubA := m.SubscribeExec(a.record)
	m.SubscribeExec(b.record)
	src := initialize(t, m, op)

	src.sendEvents(t, execEvent(10, 1e9))
	a.wait(t, 1)
	b.wait(t, 1)
	unsubA()
	unsubA()
	m.SubscribeExec(c.record)
	src.sendEvents(t, execEvent(11, 2e9))
	c.wait(t, 1)
	m.Stop()
	require.Len(t, a.all(), 1, "no event after unsubscribing")
	require.Len(t, b.all(), 2)
	require.Len(t, c.all(), 1)
	require.Equal(t, int32(11), c.all()[0].Process.PID)
	require.Equal(t, uint64(4), m.Counters().CallbacksExecuted)
}

func TestUnsubscribeExit(t *testing.T) {
	m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir, Workers: 1})
	var a, b recorder
	m.SubscribeExit(a.record)
	unsubB := m.SubscribeExit(b.record)
	src := initialize(t, m, op)

	unsubB()
	src.sendEvents(t, exitEvent(10, 1, 1e9, 0))
	a.wait(t, 1)
	m.Stop()
	require.Zero(t, b.count())
}

func TestDropsWhenQueueFull(t *testing.T) {
	const steps, perStep = 5, 8
	for _, kind := range []procevent.Kind{procevent.KindExec, procevent.KindExit} {
		t.Run(kind.String(), func(t *testing.T) {
			m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir, Workers: 1, QueueSize: 1})
			g := newGate(t)
			if kind == procevent.KindExec {
				m.SubscribeExec(g.callback)
			} else {
				m.SubscribeExit(g.callback)
			}
			src := initialize(t, m, op)

			// Every step is taken and handled while the callback is stuck: the
			// slow subscriber never holds up the source.
			pid := int32(1000)
			for range steps {
				var evs []procevent.Event
				for range perStep {
					pid++
					if kind == procevent.KindExec {
						evs = append(evs, execEvent(pid, 1e9))
					} else {
						evs = append(evs, exitEvent(pid, 1, 1e9, 0))
					}
				}
				src.sendEvents(t, evs...)
			}
			// The gate is still shut: the callback holds the first event.
			require.Eventually(t, func() bool { return g.entered.Load() == 1 }, waitFor, tick)
			dropped := func(c Counters) uint64 {
				if kind == procevent.KindExec {
					return c.ExecDropped
				}
				return c.ExitDropped
			}
			// One event in the callback and one in the queue at most.
			require.GreaterOrEqual(t, dropped(m.Counters()), uint64(steps*perStep-2))

			g.open()
			m.Stop()
			c := m.Counters()
			require.NotZero(t, dropped(c))
			require.Equal(t, uint64(steps*perStep), uint64(g.rec.count())+dropped(c), "every event delivered or dropped")
			require.Equal(t, uint64(g.rec.count()), c.CallbacksExecuted)
			require.Zero(t, c.ExecDropped+c.ExitDropped-dropped(c), "only the one kind dropped")
		})
	}
}

func TestRestartAfterSourceError(t *testing.T) {
	proc := newProcRoot(t)
	proc.add(100, 1, 500, "/usr/bin/bash", "-bash")
	m, op := newMonitor(t, Config{ProcRoot: proc.dir, ScanExisting: true, Workers: 1,
		RestartBackoff: tick, MaxRestartBackoff: 5 * tick})
	var execs recorder
	m.SubscribeExec(execs.record)
	src1 := initialize(t, m, op)
	execs.wait(t, 1)

	proc.add(200, 100, 900, "/usr/bin/make", "make", "-j8")
	src1.send(t, step{err: errors.New("recvmsg: connection reset")})
	src2 := op.source(t, 2)
	// One worker: once the live exec is in, the rescan before it is too.
	src2.sendEvents(t, execEvent(300, 9e9))
	execs.wait(t, 3)
	m.Stop()

	require.Len(t, execs.forPID(100), 1, "a known process is not reported again")
	require.Equal(t, []ProcessEvent{{Kind: procevent.KindExec, Scan: Rescan, Time: startTime(900),
		Process: &Process{PID: 200, PPID: 100, StartTicks: 900, Exe: "/usr/bin/make", Args: []string{"make", "-j8"}, Argc: 2}}},
		withoutObserved(t, execs.forPID(200)))
	live := execs.forPID(300)
	require.Len(t, live, 1)
	require.Equal(t, Live, live[0].Scan)
	require.Len(t, execs.all(), 3)

	c := m.Counters()
	require.Equal(t, uint64(1), c.Restarts)
	require.Zero(t, c.Overruns)
	require.Zero(t, c.ReinitFailures)
	require.Equal(t, 2, op.opens())
	require.True(t, src1.closed.Load())
	h := op.history()
	require.Less(t, slices.Index(h, "open 2"), slices.Index(h, "close 1"), "the new source opens before the old one closes: %v", h)
	require.Equal(t, []string{"open 1", "open 2", "close 1", "close 2"}, h)
}

func TestOverrunKeepsSource(t *testing.T) {
	proc := newProcRoot(t)
	proc.add(100, 1, 500, "/usr/bin/bash", "-bash")
	m, op := newMonitor(t, Config{ProcRoot: proc.dir, ScanExisting: true, Workers: 1,
		RestartBackoff: tick, MaxRestartBackoff: 5 * tick})
	var execs recorder
	m.SubscribeExec(execs.record)
	src := initialize(t, m, op)
	execs.wait(t, 1)

	// Started during the loss: found by the rescan.
	proc.add(200, 100, 900, "/usr/bin/make", "make")
	src.send(t, step{lost: 5, err: fmt.Errorf("recvmsg: %w", procevent.ErrOverrun)})
	src.sendEvents(t, execEvent(300, 9e9))
	execs.wait(t, 3)
	m.Stop()

	require.Len(t, execs.forPID(100), 1)
	rescanned := execs.forPID(200)
	require.Len(t, rescanned, 1)
	require.Equal(t, Rescan, rescanned[0].Scan)
	require.Len(t, execs.forPID(300), 1)
	c := m.Counters()
	require.Equal(t, uint64(1), c.Overruns)
	require.Equal(t, uint64(5), c.KernelLost)
	require.Zero(t, c.Restarts)
	require.Equal(t, 1, op.opens())
	require.Equal(t, []string{"open 1", "close 1"}, op.history())
}

func TestOverrunRescansAtMostOnceASecond(t *testing.T) {
	proc := newProcRoot(t)
	m, op := newMonitor(t, Config{ProcRoot: proc.dir, Workers: 1})
	var clock atomic.Int64 // nanoseconds after base
	base := time.Now()
	m.now = func() time.Time { return base.Add(time.Duration(clock.Load())) }
	var execs recorder
	m.SubscribeExec(execs.record)
	src := initialize(t, m, op)

	proc.add(200, 1, 900, "/usr/bin/make", "make")
	src.send(t, step{err: fmt.Errorf("recvmsg: %w", procevent.ErrOverrun)})
	// Taken only once the rescan is over, so that it cannot see 300.
	src.send(t, step{})
	proc.add(300, 1, 950, "/usr/bin/cc", "cc")
	clock.Store(int64(999 * time.Millisecond))
	src.send(t, step{err: fmt.Errorf("recvmsg: %w", procevent.ErrOverrun)})
	// The loop has decided about the second overrun once it takes this step;
	// with one worker, the exec also follows whatever a scan enqueued.
	src.sendEvents(t, execEvent(400, 9e9))
	execs.wait(t, 2)
	require.Len(t, execs.forPID(200), 1, "the first overrun rescans")
	require.Len(t, execs.forPID(400), 1)
	require.Empty(t, execs.forPID(300), "a second overrun within a second does not rescan")

	// A second after the first scan, the loop makes the scan it put off.
	clock.Store(int64(time.Second))
	src.send(t, step{})
	execs.wait(t, 3)
	m.Stop()
	require.Len(t, execs.forPID(300), 1, "the put-off scan runs once a second has passed")
	require.Equal(t, Rescan, execs.forPID(300)[0].Scan)
	require.Equal(t, uint64(2), m.Counters().Overruns)
	require.Zero(t, m.Counters().Restarts)
}

func TestOverrunRestartsWhenConfigured(t *testing.T) {
	m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir, RestartOnOverrun: true,
		RestartBackoff: tick, MaxRestartBackoff: 5 * tick})
	var execs recorder
	m.SubscribeExec(execs.record)
	src1 := initialize(t, m, op)

	src1.send(t, step{lost: 2, err: fmt.Errorf("recvmsg: %w", procevent.ErrOverrun)})
	op.source(t, 2).sendEvents(t, execEvent(12, 1e9))
	execs.wait(t, 1)
	c := m.Counters()
	require.Equal(t, uint64(1), c.Overruns)
	require.Equal(t, uint64(1), c.Restarts)
	require.Equal(t, uint64(2), c.KernelLost)
	require.Equal(t, 2, op.opens())
	require.True(t, src1.closed.Load())
}

// TestOverrunRescanSkippedForGood: an overrun within a second of the last
// rescan is not scanned for, then or later, so an exec it lost is never
// reported even though the monitor knows events were lost.
func TestOverrunRescanSkippedForGood(t *testing.T) {
	proc := newProcRoot(t)
	m, op := newMonitor(t, Config{ProcRoot: proc.dir, Workers: 1})
	var execs recorder
	m.SubscribeExec(execs.record)
	src := initialize(t, m, op)

	src.send(t, step{err: fmt.Errorf("recvmsg: %w", procevent.ErrOverrun)})
	src.send(t, step{}) // taken once the rescan is over
	// Started, and its exec lost, right after that rescan.
	proc.add(300, 1, 950, "/usr/bin/cc", "cc")
	src.send(t, step{lost: 1, err: fmt.Errorf("recvmsg: %w", procevent.ErrOverrun)})
	// The storm is over: quiet steps give a loop-driven catch-up its chance.
	require.Eventually(t, func() bool {
		return src.trySend(step{}) && len(execs.forPID(300)) == 1
	}, 3*time.Second, 50*time.Millisecond, "the process started between the overruns was never reported")
}

func TestReopenFailures(t *testing.T) {
	m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir, RestartBackoff: tick, MaxRestartBackoff: 5 * tick})
	var execs recorder
	m.SubscribeExec(execs.record)
	src1 := initialize(t, m, op)

	op.fail(3)
	src1.send(t, step{err: errors.New("recvmsg: no buffer space")})
	src2 := op.source(t, 2)
	src2.sendEvents(t, execEvent(77, 1e9))
	evs := execs.wait(t, 1)
	require.Equal(t, int32(77), evs[0].Process.PID)

	c := m.Counters()
	require.Equal(t, uint64(3), c.ReinitFailures)
	require.Equal(t, uint64(1), c.Restarts)
	require.Equal(t, 5, op.opens())
	require.True(t, src1.closed.Load())
}

func TestLostAndMalformed(t *testing.T) {
	m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir})
	src := initialize(t, m, op)

	src.send(t, step{lost: 7, malformed: 2})
	// An event of no kind breaks the source contract: malformed, not counted as an event.
	src.send(t, step{lost: 3, malformed: 1, events: []procevent.Event{{}, {Kind: procevent.KindComm, PID: 9, TGID: 9}}})
	c := m.Counters()
	require.Equal(t, uint64(10), c.KernelLost)
	require.Equal(t, uint64(4), c.Malformed)
	require.Zero(t, c.Events[0])
	require.Equal(t, uint64(1), c.Events[procevent.KindComm])
	require.Zero(t, c.Restarts)
	require.Zero(t, c.Overruns)
}

// queueBehindGate starts a monitor with one worker, whose exec callback
// waits at a gate, and with the drain timeout given; it sends sent execs and
// returns once the first is in the callback and the others are queued.
func queueBehindGate(t *testing.T, sent int, drain time.Duration) (*Monitor, *gate, *fakeSource) {
	t.Helper()
	m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir, Workers: 1, QueueSize: 16, DrainTimeout: drain})
	g := newGate(t)
	m.SubscribeExec(g.callback)
	src := initialize(t, m, op)
	for pid := range int32(sent) {
		src.sendEvents(t, execEvent(100+pid, 1e9))
	}
	require.Eventually(t, func() bool { return g.entered.Load() == 1 }, waitFor, tick)
	return m, g, src
}

func TestStopDeliversQueuedEvents(t *testing.T) {
	const sent = 6
	// Stop waits as long as it takes: the gate opens when the test says.
	m, g, src := queueBehindGate(t, sent, time.Hour)

	stopped := make(chan struct{})
	var atStop int
	go func() {
		m.Stop()
		atStop = g.rec.count()
		close(stopped)
	}()
	// Stop closes the source before it waits for the workers.
	require.Eventually(t, src.closed.Load, waitFor, tick)
	g.open()
	require.Eventually(t, func() bool { return isClosed(stopped) }, waitFor, tick)
	c := m.Counters()
	require.Equal(t, sent, atStop, "queued events are delivered before Stop returns")
	require.Zero(t, c.ExecDropped)
	require.Equal(t, uint64(sent), c.CallbacksExecuted)
	m.Stop()
}

// TestStopCountsWhatItCannotDeliver holds the one worker in a callback past
// DrainTimeout: Stop then counts the events still queued as dropped instead
// of waiting for them, and returns once the callback in progress does.
func TestStopCountsWhatItCannotDeliver(t *testing.T) {
	const sent = 6
	m, g, _ := queueBehindGate(t, sent, tick)

	stopped := goStop(m)
	require.Eventually(t, m.abandon.Load, waitFor, tick, "Stop did not give up waiting after DrainTimeout")
	require.False(t, isClosed(stopped), "Stop returned while a callback was running")
	g.open()
	require.Eventually(t, func() bool { return isClosed(stopped) }, waitFor, tick)
	c := m.Counters()
	require.Equal(t, 1, g.rec.count(), "only the event in progress is delivered")
	require.Equal(t, uint64(sent-1), c.ExecDropped, "the events left in the queue are counted")
	require.Equal(t, uint64(1), c.CallbacksExecuted)
}

func TestStopWithoutInitialize(t *testing.T) {
	m, op := newMonitor(t, Config{})
	stopReturns(t, m)
	stopReturns(t, m)
	require.Zero(t, op.opens())
}

func TestStopTwice(t *testing.T) {
	m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir})
	src := initialize(t, m, op)
	stopReturns(t, m)
	stopReturns(t, m)
	require.True(t, src.closed.Load())
}

func TestStopDuringReopenBackoff(t *testing.T) {
	// A backoff far longer than the test: only Stop can end the wait.
	m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir, RestartBackoff: waitFor * 100})
	src := initialize(t, m, op)
	src.send(t, step{err: errors.New("recvmsg: connection reset")})
	require.Eventually(t, func() bool { return m.Counters().Restarts == 1 }, waitFor, tick)
	stopReturns(t, m)
	require.Equal(t, 1, op.opens())
	require.True(t, src.closed.Load())
}

func TestSourceOpenedWhileStoppingIsClosed(t *testing.T) {
	m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir, RestartBackoff: tick, MaxRestartBackoff: 5 * tick})
	src1 := initialize(t, m, op)
	release := op.block()
	t.Cleanup(release)
	src1.send(t, step{err: errors.New("recvmsg: connection reset")})
	require.Eventually(t, func() bool { return op.entered.Load() == 2 }, waitFor, tick)

	stopped := goStop(m)
	// Stop has closed the current source and waits for the loop, which is
	// inside Open.
	require.Eventually(t, src1.closed.Load, waitFor, tick)
	release()
	require.Eventually(t, func() bool { return isClosed(stopped) }, waitFor, tick)
	src2 := op.source(t, 2)
	require.True(t, src2.closed.Load(), "a source opened after Stop must be closed")
}

func TestHousekeepingSweepsGoneProcesses(t *testing.T) {
	proc := newProcRoot(t)
	proc.add(600, 1, 100, "/usr/bin/cron", "cron")
	proc.add(601, 1, 100, "/usr/bin/atd", "atd")
	m, op := newMonitor(t, Config{ProcRoot: proc.dir, StatsInterval: tick})
	var exits recorder
	m.SubscribeExit(exits.record)
	src := initialize(t, m, op)

	src.sendEvents(t, execEvent(600, 1e9), execEvent(601, 1e9))
	// The exit of 600 is lost; its entry must not stay for ever.
	proc.remove(600)
	require.Eventually(t, func() bool { return m.table.get(600) == nil }, waitFor, tick)
	require.NotNil(t, m.table.get(601))
	require.Equal(t, 1, m.table.len())
}

// TestStopDuringBlockedInitialScan: the initial scan waits for room in a full
// queue "or for Stop", but it runs inside Initialize, which holds the lock
// Stop needs first, so Stop can neither end the wait nor close the source.
func TestStopDuringBlockedInitialScan(t *testing.T) {
	const procs = 4
	proc := newProcRoot(t)
	for pid := range int32(procs) {
		proc.add(10+pid, 1, 100, "/usr/bin/true", "true")
	}
	m, op := newMonitor(t, Config{ProcRoot: proc.dir, ScanExisting: true, Workers: 1, QueueSize: 1})
	g := newGate(t)
	m.SubscribeExec(g.callback)
	initDone := make(chan struct{})
	go func() {
		_ = m.Initialize()
		close(initDone)
	}()
	src := op.source(t, 1)
	// One event in the callback, one queued, the scan waiting with the third.
	require.Eventually(t, func() bool { return g.entered.Load() == 1 }, waitFor, tick)

	stopped := goStop(m)
	closed := assert.Eventually(t, src.closed.Load, waitFor, tick,
		"Stop did not close the source while the initial scan waited for queue room")
	// Unblock everything so that a failure leaks nothing.
	g.open()
	require.Eventually(t, func() bool { return isClosed(stopped) && isClosed(initDone) }, waitFor, tick)
	if closed {
		require.NotZero(t, m.Counters().ExecDropped, "the scan stopped waiting once stopped")
		require.Less(t, g.rec.count(), procs, "the scan ended early")
	}
}

func TestSourceStateFollowsFailuresAndRecovery(t *testing.T) {
	var mu sync.Mutex
	var states []string
	m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir, RestartBackoff: tick, MaxRestartBackoff: tick,
		SourceState: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				states = append(states, "ok")
				return
			}
			states = append(states, err.Error())
		}})
	src := initialize(t, m, op)
	op.fail(2)
	src.send(t, step{err: errors.New("recvmsg: connection reset")})
	op.source(t, 2)
	m.Stop()
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{
		"the process event source failed and is being restarted: recvmsg: connection reset",
		"re-opening the process event source failed, retrying in 1ms: open call 2: fake open failed",
		"re-opening the process event source failed, retrying in 1ms: open call 3: fake open failed",
		"ok",
	}, states)
}
