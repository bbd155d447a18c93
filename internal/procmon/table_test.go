package procmon

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procmon-otel/procmon/internal/procevent"
)

// addIfNew adds p unless the same process (pid and start time) is known.
func (t *pidTable) addIfNew(p *Process) bool {
	return t.addIfNewThen(p, func() {})
}

// take removes and returns the entry of pid, or nil.
func (t *pidTable) take(pid int32) (p *Process) {
	t.takeThen(pid, func(e *Process, _ uint64) { p = e })
	return p
}

func newTable(ps ...*Process) *pidTable {
	tab := newPidTable(1 << 16)
	t := &tab
	for _, p := range ps {
		t.put(p, 0)
	}
	return t
}

// newCountingTable is a table of one process whose exec was seen: one thread.
func newCountingTable(pid int32) *pidTable {
	tab := newTable()
	tab.put(&Process{PID: pid}, 1)
	return tab
}

func TestPidTableAddIfNew(t *testing.T) {
	tab := newTable()
	first := &Process{PID: 10, StartTicks: 100, Exe: "/usr/bin/bash"}
	require.True(t, tab.addIfNew(first))

	same := &Process{PID: 10, StartTicks: 100, Exe: "/usr/bin/other"}
	require.False(t, tab.addIfNew(same), "same pid and start time: the same process")
	require.Same(t, first, tab.get(10))

	reused := &Process{PID: 10, StartTicks: 200, Exe: "/usr/bin/vim"}
	require.True(t, tab.addIfNew(reused), "a reused pid is another process")
	require.Same(t, reused, tab.get(10))
	require.Equal(t, 1, tab.len())
}

func TestPidTableSweep(t *testing.T) {
	alive := &Process{PID: 1, Exe: "/sbin/init"}
	gone := &Process{PID: 2, Exe: "/usr/bin/gone"}
	stale := &Process{PID: 3, Exe: "/usr/bin/old"}
	tab := newTable(alive, gone, stale)
	fresh := &Process{PID: 3, Exe: "/usr/bin/new"}

	n := tab.sweep(func(pid int32) bool {
		if pid == 3 {
			// pid 3 exits and is reused by a new exec while the sweep looks.
			tab.put(fresh, 0)
			return false
		}
		return pid == 1
	})
	require.Equal(t, 1, n)
	require.Same(t, alive, tab.get(1))
	require.Nil(t, tab.get(2))
	require.Same(t, fresh, tab.get(3), "an entry replaced during the sweep is kept")
	require.Equal(t, 2, tab.len())
}

func TestPidTableSweepEmpty(t *testing.T) {
	require.Zero(t, newTable().sweep(func(int32) bool { return false }))
}

func TestPidTableInherit(t *testing.T) {
	parent := &Process{PID: 50, PPID: 1, StartTicks: 9, Exe: "/usr/sbin/sshd", Args: []string{"sshd", "-D"}}
	tab := newTable(parent)

	tab.inherit(51, 50, func(*Process) {})
	require.Equal(t, &Process{PID: 51, PPID: 50, Exe: "/usr/sbin/sshd", Args: []string{"sshd", "-D"}, ParentName: "sshd",
		Missing: 1<<procevent.FieldStat | 1<<procevent.FieldStatus | 1<<procevent.FieldCwd | 1<<procevent.FieldCgroup}, tab.get(51))
	tab.inherit(61, 60, func(p *Process) { p.Comm = "from the source" })
	require.Equal(t, &Process{PID: 61, PPID: 60, Comm: "from the source", Missing: 1<<procevent.NumFields - 1}, tab.get(61),
		"an unknown parent leaves the program unknown")
	require.Same(t, parent, tab.get(50))
}

func TestPidTableTake(t *testing.T) {
	p := &Process{PID: 7}
	tab := newTable(p)
	require.Same(t, p, tab.take(7))
	require.Nil(t, tab.take(7))
	require.Zero(t, tab.len())
}

func TestPidTableCountsThreads(t *testing.T) {
	for _, tc := range []struct {
		name string
		// tasks that end, in order, after two threads were started (pids
		// 11 and 12 of process 10): the last one ends the process.
		ends []int32
	}{
		{"leader last", []int32{11, 12, 10}},
		{"leader first", []int32{10, 11, 12}},
		{"leader in the middle", []int32{11, 10, 12}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := newCountingTable(10)
			tab.startThread(10)
			tab.startThread(10)
			for i, pid := range tc.ends {
				last := i == len(tc.ends)-1
				require.Equal(t, last, tab.endTask(pid, 10), "end of task %d", pid)
			}
		})
	}
}

func TestPidTableThreadExecEndsOnlyTheLeader(t *testing.T) {
	// Thread 11 execs: the kernel ends the leader in its stead, and the exec
	// leaves one thread, which ends the process.
	tab := newCountingTable(10)
	tab.startThread(10)
	require.False(t, tab.endTask(10, 10), "the leader's end when a thread execs")
	tab.put(&Process{PID: 10}, 1) // the exec
	require.True(t, tab.endTask(10, 10))
}

func TestPidTableUncountedThreadsFallBackToTheLeader(t *testing.T) {
	// Found by a scan: nothing counted, the leader's end is the process's.
	tab := newTable(&Process{PID: 10})
	tab.startThread(10)
	require.False(t, tab.endTask(11, 10))
	require.True(t, tab.endTask(10, 10))

	// Counted, but the kernel lost events since: the count is not trusted.
	tab = newCountingTable(20)
	tab.startThread(20)
	tab.lost()
	require.True(t, tab.endTask(20, 20))

	// More tasks end than were counted: counting stops, the leader decides.
	tab = newCountingTable(30)
	require.False(t, tab.endTask(31, 30), "a thread the count never saw")
	require.True(t, tab.endTask(30, 30))

	// Unknown to the table.
	require.False(t, tab.endTask(41, 40))
	require.True(t, tab.endTask(40, 40))
}
