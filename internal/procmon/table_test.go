package procmon

import (
	"testing"

	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/stretchr/testify/require"
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
		t.put(p)
	}
	return t
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
			tab.put(fresh)
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

	tab.inherit(51, 50)
	require.Equal(t, &Process{PID: 51, PPID: 50, Exe: "/usr/sbin/sshd", Args: []string{"sshd", "-D"}, ParentName: "sshd",
		Missing: 1<<procevent.FieldStat | 1<<procevent.FieldStatus | 1<<procevent.FieldCwd | 1<<procevent.FieldCgroup}, tab.get(51))
	tab.inherit(61, 60)
	require.Equal(t, &Process{PID: 61, PPID: 60, Missing: 1<<procevent.NumFields - 1}, tab.get(61), "an unknown parent leaves the program unknown")
	require.Same(t, parent, tab.get(50))
}

func TestPidTableTake(t *testing.T) {
	p := &Process{PID: 7}
	tab := newTable(p)
	require.Same(t, p, tab.take(7))
	require.Nil(t, tab.take(7))
	require.Zero(t, tab.len())
}
