package procmon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/internal/procfs"
)

// waitFor bounds every wait on the monitor; tick is how often Eventually polls.
const (
	waitFor = 5 * time.Second
	tick    = time.Millisecond
)

// errSourceClosed is what the fake source returns once closed.
var errSourceClosed = errors.New("fake source closed")

// errOpen is what a failing fake opener wraps.
var errOpen = errors.New("fake open failed")

// step is what the fake source does in one Receive call: hand events, losses
// and malformed messages to the sink, then return err.
type step struct {
	events    []procevent.Event
	lost      uint64
	malformed int
	err       error
	done      chan struct{} // closed once the sink calls have returned
}

// fakeSource is a Source fed by the test, one step per Receive call.
type fakeSource struct {
	id        int
	steps     chan step
	closing   chan struct{}
	closeOnce sync.Once
	closed    atomic.Bool
	note      func(string) // records the close in the opener's log
	onReceive func()
}

var _ procevent.Source = (*fakeSource)(nil)

func (s *fakeSource) Receive(sink procevent.Sink) error {
	if s.onReceive != nil {
		s.onReceive()
	}
	// A closed source fails even if a step is waiting, as a closed socket does.
	select {
	case <-s.closing:
		return errSourceClosed
	default:
	}
	select {
	case <-s.closing:
		return errSourceClosed
	case st := <-s.steps:
		for i := range st.events {
			sink.Event(&st.events[i])
		}
		for range st.malformed {
			sink.Malformed()
		}
		if st.lost > 0 {
			sink.Lost(st.lost)
		}
		close(st.done)
		return st.err
	}
}

func (s *fakeSource) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.note(fmt.Sprintf("close %d", s.id))
		close(s.closing)
	})
	return nil
}

// send hands st to the next Receive and returns once the sink has seen it.
func (s *fakeSource) send(t *testing.T, st step) {
	t.Helper()
	st.done = make(chan struct{})
	select {
	case s.steps <- st:
	case <-time.After(waitFor):
		t.Fatalf("source %d: no Receive took the step", s.id)
	}
	select {
	case <-st.done:
	case <-time.After(waitFor):
		t.Fatalf("source %d: the step was not handled", s.id)
	}
}

// trySend is a short send for use off the test goroutine: it reports
// instead of failing.
func (s *fakeSource) trySend(st step) bool {
	st.done = make(chan struct{})
	select {
	case s.steps <- st:
	case <-time.After(100 * tick):
		return false
	}
	select {
	case <-st.done:
		return true
	case <-time.After(100 * tick):
		return false
	}
}

// sendEvents sends one step carrying evs.
func (s *fakeSource) sendEvents(t *testing.T, evs ...procevent.Event) {
	t.Helper()
	s.send(t, step{events: evs})
}

// fakeOpener opens fake sources, counts the calls and fails on demand.
type fakeOpener struct {
	entered atomic.Int64 // calls begun, held or not
	mu      sync.Mutex
	calls   int
	failing int           // how many of the next calls fail
	hold    chan struct{} // when set, Open waits for it to close
	// onReceive, when set, is called by the sources at each Receive.
	onReceive func()
	sources   []*fakeSource
	log       []string // opens and closes, in order
}

func (o *fakeOpener) open() (procevent.Source, error) {
	o.entered.Add(1)
	o.mu.Lock()
	hold := o.hold
	o.mu.Unlock()
	if hold != nil {
		<-hold
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls++
	if o.failing > 0 {
		o.failing--
		return nil, fmt.Errorf("open call %d: %w", o.calls, errOpen)
	}
	s := &fakeSource{
		id:        len(o.sources) + 1,
		steps:     make(chan step),
		closing:   make(chan struct{}),
		note:      o.note,
		onReceive: o.onReceive,
	}
	o.sources = append(o.sources, s)
	o.log = append(o.log, fmt.Sprintf("open %d", s.id))
	return s, nil
}

func (o *fakeOpener) note(what string) {
	o.mu.Lock()
	o.log = append(o.log, what)
	o.mu.Unlock()
}

// fail makes the next n calls fail.
func (o *fakeOpener) fail(n int) {
	o.mu.Lock()
	o.failing = n
	o.mu.Unlock()
}

// block makes later calls wait until the returned function is called.
func (o *fakeOpener) block() (release func()) {
	hold := make(chan struct{})
	o.mu.Lock()
	o.hold = hold
	o.mu.Unlock()
	return sync.OnceFunc(func() { close(hold) })
}

// closeAll closes every source opened so far.
func (o *fakeOpener) closeAll() {
	o.mu.Lock()
	srcs := slices.Clone(o.sources)
	o.mu.Unlock()
	for _, s := range srcs {
		_ = s.Close()
	}
}

func (o *fakeOpener) opens() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls
}

func (o *fakeOpener) history() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.log)
}

// source waits for the n-th successfully opened source (from 1) and returns it.
func (o *fakeOpener) source(t *testing.T, n int) *fakeSource {
	t.Helper()
	var s *fakeSource
	require.Eventually(t, func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		if len(o.sources) < n {
			return false
		}
		s = o.sources[n-1]
		return true
	}, waitFor, tick, "source %d never opened", n)
	return s
}

// procRoot is a fake proc filesystem in a temporary directory.
type procRoot struct {
	t   *testing.T
	dir string
}

func newProcRoot(t *testing.T) *procRoot {
	return &procRoot{t: t, dir: t.TempDir()}
}

// add lays out /proc/<pid> for a process running exe with args, started
// start ticks after boot. It appears at once, so a scan never sees half of it.
func (r *procRoot) add(pid, ppid int32, start uint64, exe string, args ...string) {
	r.t.Helper()
	stage := filepath.Join(r.dir, ".new-"+strconv.Itoa(int(pid)))
	require.NoError(r.t, os.MkdirAll(stage, 0o755))
	if exe != "" {
		require.NoError(r.t, os.Symlink(exe, filepath.Join(stage, "exe")))
	}
	cmdline := ""
	if len(args) > 0 {
		cmdline = strings.Join(args, "\x00") + "\x00"
	}
	require.NoError(r.t, os.WriteFile(filepath.Join(stage, "cmdline"), []byte(cmdline), 0o644))
	comm := "kthreadd"
	if exe != "" {
		comm = filepath.Base(exe)
	}
	require.NoError(r.t, os.WriteFile(filepath.Join(stage, "stat"), []byte(statLine(pid, ppid, start, comm)), 0o644))
	require.NoError(r.t, os.Rename(stage, filepath.Join(r.dir, strconv.Itoa(int(pid)))))
}

// statLine is a /proc/<pid>/stat line as the kernel writes it, for a process
// that leads its own group and session and has no terminal.
func statLine(pid, ppid int32, start uint64, comm string) string {
	return statLineOf(procfs.Stat{PID: pid, Comm: comm, PPID: ppid, PGRP: pid, Session: pid, StartTicks: start})
}

// statLineOf is the stat line of st: ppid, pgrp, session and tty_nr are
// fields 4 to 7, starttime field 22.
func statLineOf(st procfs.Stat) string {
	return fmt.Sprintf("%d (%s) S %d %d %d %d -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 %d 1000 100 18446744073709551615\n",
		st.PID, st.Comm, st.PPID, st.PGRP, st.Session, st.TTY, st.StartTicks)
}

// statusText is a /proc/<pid>/status file with the lines procfs reads
// among some it skips.
func statusText(name string, pid, ppid int32, uids, gids [4]uint32) string {
	ids := func(v [4]uint32) string { return fmt.Sprintf("%d\t%d\t%d\t%d", v[0], v[1], v[2], v[3]) }
	return fmt.Sprintf("Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\n"+
		"TracerPid:\t0\nUid:\t%s\nGid:\t%s\nFDSize:\t64\nGroups:\t%d\n", name, pid, pid, ppid, ids(uids), ids(gids), gids[0])
}

// addFiles lays out /proc/<pid> with the given files and symlinks (by name,
// e.g. "stat" or "cwd"), appearing at once as add's does.
func (r *procRoot) addFiles(pid int32, files, links map[string]string) {
	r.t.Helper()
	stage := filepath.Join(r.dir, ".new-"+strconv.Itoa(int(pid)))
	require.NoError(r.t, os.MkdirAll(stage, 0o755))
	for name, content := range files {
		require.NoError(r.t, os.WriteFile(filepath.Join(stage, name), []byte(content), 0o644))
	}
	for name, target := range links {
		require.NoError(r.t, os.Symlink(target, filepath.Join(stage, name)))
	}
	require.NoError(r.t, os.Rename(stage, filepath.Join(r.dir, strconv.Itoa(int(pid)))))
}

// writeFile replaces one file of /proc/<pid> at once, so that a concurrent
// reader sees the old or the new contents, never half.
func (r *procRoot) writeFile(pid int32, name, content string) {
	r.t.Helper()
	dir := filepath.Join(r.dir, strconv.Itoa(int(pid)))
	tmp := filepath.Join(dir, ".new-"+name)
	require.NoError(r.t, os.WriteFile(tmp, []byte(content), 0o644))
	require.NoError(r.t, os.Rename(tmp, filepath.Join(dir, name)))
}

func (r *procRoot) remove(pid int32) {
	r.t.Helper()
	require.NoError(r.t, os.RemoveAll(filepath.Join(r.dir, strconv.Itoa(int(pid)))))
}

// recorder is a Callback that keeps copies of what it receives.
type recorder struct {
	mu  sync.Mutex
	evs []ProcessEvent
}

func (r *recorder) record(ev *ProcessEvent) {
	c := *ev
	p := *ev.Process
	p.Args = slices.Clone(ev.Process.Args)
	// Bookkeeping of the worker's, not what a subscriber sees.
	p.lateRead, p.curUIDs, p.curGIDs, p.curUIDsSet, p.curGIDsSet = false, [2]uint32{}, [2]uint32{}, false, false
	p.cgroupAtExec = false
	c.Process = &p
	r.mu.Lock()
	r.evs = append(r.evs, c)
	r.mu.Unlock()
}

func (r *recorder) all() []ProcessEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.evs)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.evs)
}

func (r *recorder) forPID(pid int32) []ProcessEvent {
	var out []ProcessEvent
	for _, ev := range r.all() {
		if ev.Process.PID == pid {
			out = append(out, ev)
		}
	}
	return out
}

// wait returns the events once there are at least n.
func (r *recorder) wait(t *testing.T, n int) []ProcessEvent {
	t.Helper()
	require.Eventually(t, func() bool { return r.count() >= n }, waitFor, tick, "want %d events", n)
	return r.all()
}

// gate is a Callback that blocks until opened, then records.
type gate struct {
	open    func()
	opened  chan struct{}
	entered atomic.Int64
	rec     recorder
}

// newGate returns a closed gate that opens at the end of the test. Make it
// after the monitor, so that it opens before the monitor's cleanup Stop.
func newGate(t *testing.T) *gate {
	g := &gate{opened: make(chan struct{})}
	g.open = sync.OnceFunc(func() { close(g.opened) })
	t.Cleanup(g.open)
	return g
}

func (g *gate) callback(ev *ProcessEvent) {
	g.entered.Add(1)
	<-g.opened
	g.rec.record(ev)
}

// The fake kernel clocks: a fixed wall time, 3s since boot on the monotonic
// clock and 5s on the boot clock (2s suspended).
const (
	testRealtime  = int64(1_700_000_000) * int64(time.Second)
	testMonotonic = 3 * int64(time.Second)
	testBoottime  = 5 * int64(time.Second)
)

// fixedClock is a wallClock over clocks that always read the given values.
func fixedClock(wall, mono, boot int64) *wallClock {
	c := &wallClock{
		realtime:  func() int64 { return wall },
		monotonic: func() int64 { return mono },
		boottime:  func() int64 { return boot },
	}
	c.calibrate()
	return c
}

// monoTime is the wall time of a monotonic timestamp under the fake clocks.
func monoTime(ns uint64) time.Time {
	return time.Unix(0, testRealtime-testMonotonic).Add(time.Duration(ns))
}

// startTime is the wall time of a start time in ticks under the fake clocks.
func startTime(ticks uint64) time.Time {
	return time.Unix(0, testRealtime-testBoottime).Add(time.Duration(ticks) * 10 * time.Millisecond)
}

// newMonitor makes a monitor over the fake clocks with a fake opener unless
// cfg has one, and stops it at the end of the test.
func newMonitor(t *testing.T, cfg Config) (*Monitor, *fakeOpener) {
	op := &fakeOpener{}
	if cfg.Open == nil {
		cfg.Open = op.open
	}
	m := New(cfg)
	m.clock = fixedClock(testRealtime, testMonotonic, testBoottime)
	t.Cleanup(m.Stop)
	t.Cleanup(func() {
		// A failed test may leave the loop in Receive on a source Stop
		// does not know of; unblock it so that Stop returns.
		if t.Failed() {
			op.closeAll()
		}
	})
	return m, op
}

// initialize starts m and returns its first source.
func initialize(t *testing.T, m *Monitor, op *fakeOpener) *fakeSource {
	t.Helper()
	require.NoError(t, m.Initialize())
	return op.source(t, 1)
}

// stopReturns calls Stop and fails unless it returns in time.
func stopReturns(t *testing.T, m *Monitor) {
	t.Helper()
	done := goStop(m)
	require.Eventually(t, func() bool { return isClosed(done) }, waitFor, tick, "Stop did not return")
}

// goStop runs Stop in a goroutine; the channel closes when it returns.
func goStop(m *Monitor) chan struct{} {
	done := make(chan struct{})
	go func() {
		m.Stop()
		close(done)
	}()
	return done
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// execEvent is the kernel's exec event of process pid.
func execEvent(pid int32, ts uint64) procevent.Event {
	return procevent.Event{Kind: procevent.KindExec, CPU: 2, Timestamp: ts, PID: pid, TGID: pid}
}

// exitEvent is the kernel's exit event of process pid, child of ppid.
func exitEvent(pid, ppid int32, ts uint64, status uint32) procevent.Event {
	return procevent.Event{Kind: procevent.KindExit, CPU: 1, Timestamp: ts, PID: pid, TGID: pid,
		ParentPID: ppid, ParentTGID: ppid, ExitStatus: status, ExitSignal: 17}
}

// forkEvent is the kernel's fork event of child from parent.
func forkEvent(child, parent int32, ts uint64) procevent.Event {
	return procevent.Event{Kind: procevent.KindFork, Timestamp: ts, PID: child, TGID: child, ParentPID: parent, ParentTGID: parent}
}

// withoutObserved checks that every event has an Observed time and clears it,
// so that whole events can be compared.
func withoutObserved(t *testing.T, evs []ProcessEvent) []ProcessEvent {
	t.Helper()
	out := slices.Clone(evs)
	for i := range out {
		require.False(t, out[i].Observed.IsZero(), "event %d has no Observed time", i)
		out[i].Observed = time.Time{}
		out[i].Kernel, out[i].ParentPID = procevent.Event{}, 0
		p := *out[i].Process
		// What the fake tree cannot say, or the tests of dispatch do not
		// look at; the enrichment tests check these.
		p.Comm, p.PGID, p.SID, p.Interactive = "", 0, 0, false
		p.UIDs, p.GIDs, p.IDsKnown, p.ParentName = [4]uint32{}, [4]uint32{}, false, ""
		p.Cwd, p.Cgroup, p.ContainerID, p.Missing, p.StartTime, p.lossEpoch, p.lateRead = "", "", "", 0, time.Time{}, 0, false
		out[i].Process = &p
	}
	return out
}

// byPID sorts events by pid, for workers that deliver in any order.
func byPID(evs []ProcessEvent) []ProcessEvent {
	out := slices.Clone(evs)
	slices.SortStableFunc(out, func(a, b ProcessEvent) int { return int(a.Process.PID - b.Process.PID) })
	return out
}
