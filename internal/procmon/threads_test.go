package procmon

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procmon-otel/procmon/internal/procevent"
)

// threadEvent is the kernel's fork event of thread tid in process tgid.
func threadEvent(tid, tgid int32, ts uint64) procevent.Event {
	return procevent.Event{Kind: procevent.KindFork, Timestamp: ts, PID: tid, TGID: tgid, ParentPID: tgid, ParentTGID: tgid}
}

// taskExitEvent is the kernel's exit event of task tid in process tgid.
func taskExitEvent(tid, tgid, ppid int32, ts uint64, status uint32) procevent.Event {
	ev := exitEvent(tgid, ppid, ts, status)
	ev.PID = tid
	return ev
}

func TestExitWhenTheLeaderEndsFirst(t *testing.T) {
	// The main thread returns from pthread_exit; another thread calls
	// exit(5) later. The parent's wait sees 5, when the last thread ends.
	proc, p := curlProc(t)
	m, op := newMonitor(t, Config{ProcRoot: proc.dir})
	var exits recorder
	m.SubscribeExit(exits.record)
	src := initialize(t, m, op)

	src.sendEvents(t, execEvent(p.PID, 7e9), threadEvent(p.PID+1, p.PID, 7e9+1))
	src.sendEvents(t, taskExitEvent(p.PID, p.PID, p.PPID, 8e9, 0))
	src.sendEvents(t, taskExitEvent(p.PID+1, p.PID, p.PPID, 9e9, 5<<8))
	evs := exits.wait(t, 1)
	require.Equal(t, []ProcessEvent{{Kind: procevent.KindExit, Time: monoTime(9e9), CPU: 1, Process: &p, ExitCode: 5}},
		withoutObserved(t, evs))
	m.Stop()
	require.Len(t, exits.all(), 1)
	c := m.Counters()
	require.Equal(t, uint64(2), c.Events[procevent.KindExit])
	require.Equal(t, uint64(1), c.Exit)
	require.Zero(t, m.table.len())
}

func TestThreadExecReportsOneExit(t *testing.T) {
	// A second thread execs: the kernel ends the leader in its place (an
	// exit event of the group's pid), then reports the exec; the process
	// lives on and ends once.
	proc, p := curlProc(t)
	m, op := newMonitor(t, Config{ProcRoot: proc.dir})
	var execs, exits recorder
	m.SubscribeExec(execs.record)
	m.SubscribeExit(exits.record)
	src := initialize(t, m, op)

	src.sendEvents(t, execEvent(p.PID, 7e9), threadEvent(p.PID+1, p.PID, 7e9+1))
	src.sendEvents(t, taskExitEvent(p.PID, p.PID, p.PPID, 8e9, 0), execEvent(p.PID, 8e9+1))
	src.sendEvents(t, exitEvent(p.PID, p.PPID, 9e9, 3<<8))
	evs := exits.wait(t, 1)
	require.Equal(t, monoTime(9e9), evs[0].Time)
	require.Equal(t, int32(3), evs[0].ExitCode)
	execs.wait(t, 2)
	m.Stop()
	require.Len(t, exits.all(), 1, "the leader's end in the exec is no process exit")
	require.Equal(t, uint64(1), m.Counters().Exit)
}

func TestGroupDeadExitNeedsNoCount(t *testing.T) {
	// A source that knows when a group dies reports its exit once, from
	// whichever task ends last; the monitor takes its word.
	proc, p := curlProc(t)
	m, op := newMonitor(t, Config{ProcRoot: proc.dir})
	var exits recorder
	m.SubscribeExit(exits.record)
	src := initialize(t, m, op)

	src.sendEvents(t, execEvent(p.PID, 7e9), threadEvent(p.PID+1, p.PID, 7e9+1))
	ev := exitEvent(p.PID, p.PPID, 9e9, 5<<8)
	ev.GroupDead = true
	src.sendEvents(t, ev)
	evs := exits.wait(t, 1)
	require.Equal(t, int32(5), evs[0].ExitCode)
	require.Equal(t, "curl", evs[0].Process.Name())
}

func TestExitOfUnknownProcessFromItsSource(t *testing.T) {
	// The source says what the process was when the table has no entry.
	m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir})
	var exits recorder
	m.SubscribeExit(exits.record)
	src := initialize(t, m, op)

	ev := exitEvent(400, 1, 9e9, 0)
	ev.GroupDead = true
	ev.Content = procevent.Content{Have: 1 << procevent.FieldStat, PPID: 300, PGID: 400, SID: 1, StartBoottime: 50 * 1e7}
	copy(ev.Content.Comm[:], "sleep")
	src.sendEvents(t, ev)
	p := exits.wait(t, 1)[0].Process
	require.Equal(t, "sleep", p.Name())
	require.Equal(t, int32(300), p.PPID)
	require.Equal(t, uint64(50), p.StartTicks)
	require.Equal(t, startTime(50), p.StartTime)
	require.True(t, p.Has(procevent.FieldStat))
	require.False(t, p.Has(procevent.FieldExe))
}

func TestExitOfReusedPidToldByItsSource(t *testing.T) {
	// The table's entry is of an earlier holder of the pid: the start time
	// the source reports tells, without /proc.
	proc, p := curlProc(t)
	m, op := newMonitor(t, Config{ProcRoot: proc.dir})
	var exits recorder
	m.SubscribeExit(exits.record)
	src := initialize(t, m, op)

	src.sendEvents(t, execEvent(p.PID, 7e9))
	ev := exitEvent(p.PID, p.PPID, 9e9, 0)
	ev.GroupDead = true
	ev.Content = procevent.Content{Have: 1 << procevent.FieldStat, PPID: 1, StartBoottime: (p.StartTicks + 5) * 1e7}
	copy(ev.Content.Comm[:], "other")
	src.sendEvents(t, ev)
	got := exits.wait(t, 1)[0].Process
	require.Equal(t, "other", got.Name())
	require.Equal(t, uint64(1), m.Counters().PidReuse)
}
