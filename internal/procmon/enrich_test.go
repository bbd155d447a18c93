package procmon

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/internal/procfs"
)

// testContainerID is the docker container the enriched test processes run in.
const testContainerID = "4f7c0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7"

// testCgroup is the cgroup v2 path of a process of that container.
const testCgroup = "/system.slice/docker-" + testContainerID + ".scope"

// The ids every enriched test process runs with.
var (
	testUIDs = [4]uint32{1000, 1001, 1002, 1003}
	testGIDs = [4]uint32{100, 101, 102, 103}
)

// ptsTTY is tty_nr of /dev/pts/0: major 136, minor 0.
const ptsTTY = 136 << 8

// allMissing is Missing when no field could be read.
const allMissing = procevent.AllFields

// addEnriched lays out every file enrichment reads for the process st
// describes, running exe with args in /home/u and testCgroup.
func addEnriched(r *procRoot, st procfs.Stat, exe string, args ...string) {
	r.t.Helper()
	cmdline := ""
	for _, a := range args {
		cmdline += a + "\x00"
	}
	r.addFiles(st.PID, map[string]string{
		"stat":    statLineOf(st),
		"status":  statusText(st.Comm, st.PID, st.PPID, testUIDs, testGIDs),
		"cmdline": cmdline,
		"cgroup":  "0::" + testCgroup + "\n",
	}, map[string]string{
		"exe": exe,
		"cwd": "/home/u",
	})
}

// The interactive shell and the curl it runs, in a container.
var (
	bashStat = procfs.Stat{PID: 250, Comm: "bash", PPID: 1, PGRP: 250, Session: 250, TTY: ptsTTY, StartTicks: 3000}
	curlStat = procfs.Stat{PID: 300, Comm: "curl", PPID: 250, PGRP: 300, Session: 250, TTY: ptsTTY, StartTicks: 4000}
	curlArgs = []string{"curl", "-s", "http://example.com"}
)

// shellAndCurl lays out bashStat and curlStat.
func shellAndCurl(t *testing.T) *procRoot {
	proc := newProcRoot(t)
	addEnriched(proc, bashStat, "/usr/bin/bash", "-bash")
	addEnriched(proc, curlStat, "/usr/bin/curl", curlArgs...)
	return proc
}

// wantCurl is what m should make of curlStat, its parent's exec seen first.
func wantCurl(m *Monitor) Process {
	return Process{
		PID: 300, PPID: 250, StartTicks: 4000,
		StartTime: m.clock.fromBoottime(4000 * 1e7), // USER_HZ ticks of 10ms
		Exe:       "/usr/bin/curl", Comm: "curl", Args: curlArgs, Argc: len(curlArgs),
		PGID: 300, SID: 250, Interactive: true,
		UIDs: testUIDs, GIDs: testGIDs, IDsKnown: true,
		ParentName: "bash",
		Cwd:        "/home/u", Cgroup: testCgroup, ContainerID: testContainerID,
	}
}

func TestExecEnrichment(t *testing.T) {
	proc := shellAndCurl(t)
	m, op := newMonitor(t, Config{ProcRoot: proc.dir})
	var execs recorder
	m.SubscribeExec(execs.record)
	src := initialize(t, m, op)

	src.sendEvents(t, execEvent(250, 1e9), execEvent(300, 2e9))
	execs.wait(t, 2)
	got := execs.forPID(300)
	require.Len(t, got, 1)
	p := *got[0].Process
	require.Equal(t, wantCurl(m), p)
	require.Equal(t, startTime(4000), p.StartTime, "starttime is ticks of 10ms on the boot clock")
	require.Equal(t, "curl", p.Name())
	for f := procevent.Field(0); f < procevent.NumFields; f++ {
		require.True(t, p.Has(f), "field %s", f)
	}
	require.Equal(t, int32(250), got[0].ParentPID)

	parent := execs.forPID(250)
	require.Len(t, parent, 1)
	require.Empty(t, parent[0].Process.ParentName, "init was never seen")
	require.Equal(t, int32(1), parent[0].Process.PPID)
	require.Equal(t, [procevent.NumFields]uint64{}, m.Counters().Misses)
}

func TestExecParentNameNeedsParentInTable(t *testing.T) {
	proc := shellAndCurl(t)
	m, op := newMonitor(t, Config{ProcRoot: proc.dir})
	var execs recorder
	m.SubscribeExec(execs.record)
	src := initialize(t, m, op)

	// The shell's exec was never seen: its name is not guessed from /proc.
	src.sendEvents(t, execEvent(300, 2e9))
	p := execs.wait(t, 1)[0].Process
	require.Empty(t, p.ParentName)
	require.Equal(t, int32(250), p.PPID)
	require.True(t, p.Has(procevent.FieldExe))
}

func TestExecNotInteractive(t *testing.T) {
	proc := newProcRoot(t)
	daemon := procfs.Stat{PID: 90, Comm: "sshd", PPID: 1, PGRP: 90, Session: 90, StartTicks: 50}
	addEnriched(proc, daemon, "/usr/sbin/sshd", "sshd", "-D")
	m, op := newMonitor(t, Config{ProcRoot: proc.dir})
	var execs recorder
	m.SubscribeExec(execs.record)
	src := initialize(t, m, op)

	src.sendEvents(t, execEvent(90, 1e9))
	p := execs.wait(t, 1)[0].Process
	require.False(t, p.Interactive, "tty_nr 0: no controlling terminal")
	require.Equal(t, int32(90), p.PGID)
	require.Equal(t, int32(90), p.SID)
}

func TestExecHostProcessHasNoContainer(t *testing.T) {
	proc := newProcRoot(t)
	proc.addFiles(91, map[string]string{
		"stat":   statLine(91, 1, 60, "cron"),
		"cgroup": "0::/system.slice/cron.service\n",
	}, map[string]string{"exe": "/usr/sbin/cron"})
	m, op := newMonitor(t, Config{ProcRoot: proc.dir})
	var execs recorder
	m.SubscribeExec(execs.record)
	src := initialize(t, m, op)

	src.sendEvents(t, execEvent(91, 1e9))
	p := execs.wait(t, 1)[0].Process
	require.Equal(t, "/system.slice/cron.service", p.Cgroup)
	require.Empty(t, p.ContainerID)
	require.True(t, p.Has(procevent.FieldCgroup), "a host cgroup was read: it is not missing")
}

func TestExecMisses(t *testing.T) {
	t.Run("only stat", func(t *testing.T) {
		proc := newProcRoot(t)
		proc.addFiles(310, map[string]string{"stat": statLine(310, 1, 77, "python3")}, nil)
		m, op := newMonitor(t, Config{ProcRoot: proc.dir})
		var execs recorder
		m.SubscribeExec(execs.record)
		src := initialize(t, m, op)

		src.sendEvents(t, execEvent(310, 1e9))
		p := execs.wait(t, 1)[0].Process
		require.Equal(t, procevent.Fields(1<<procevent.FieldExe|1<<procevent.FieldStatus|1<<procevent.FieldCmdline|1<<procevent.FieldCwd|1<<procevent.FieldCgroup), p.Missing)
		require.True(t, p.Has(procevent.FieldStat))
		require.False(t, p.IDsKnown)
		require.Nil(t, p.Args)
		require.Empty(t, p.Exe)
		require.Equal(t, "python3", p.Name(), "no executable: the command name stands in")
		require.Equal(t, uint64(77), p.StartTicks)
		require.Equal(t, int32(1), p.PPID)
		var want [procevent.NumFields]uint64
		for _, f := range []procevent.Field{procevent.FieldExe, procevent.FieldStatus, procevent.FieldCmdline, procevent.FieldCwd, procevent.FieldCgroup} {
			want[f] = 1
		}
		require.Equal(t, want, m.Counters().Misses)
	})
	t.Run("gone", func(t *testing.T) {
		m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir})
		var execs recorder
		m.SubscribeExec(execs.record)
		src := initialize(t, m, op)

		src.sendEvents(t, execEvent(311, 1e9))
		p := execs.wait(t, 1)[0].Process
		require.Equal(t, &Process{PID: 311, Missing: allMissing}, p)
		require.Empty(t, p.Name())
		require.Equal(t, [procevent.NumFields]uint64{1, 1, 1, 1, 1, 1}, m.Counters().Misses)
	})
	t.Run("counted per exec", func(t *testing.T) {
		proc := newProcRoot(t)
		addEnriched(proc, curlStat, "/usr/bin/curl", curlArgs...)
		m, op := newMonitor(t, Config{ProcRoot: proc.dir})
		var execs recorder
		m.SubscribeExec(execs.record)
		src := initialize(t, m, op)

		src.sendEvents(t, execEvent(300, 1e9), execEvent(312, 1e9), execEvent(313, 1e9))
		execs.wait(t, 3)
		require.Equal(t, [procevent.NumFields]uint64{2, 2, 2, 2, 2, 2}, m.Counters().Misses, "two processes gone, one whole")
	})
}

func TestExitCarriesEnrichment(t *testing.T) {
	proc := shellAndCurl(t)
	m, op := newMonitor(t, Config{ProcRoot: proc.dir})
	var execs, exits recorder
	m.SubscribeExec(execs.record)
	m.SubscribeExit(exits.record)
	src := initialize(t, m, op)

	src.sendEvents(t, execEvent(250, 1e9), execEvent(300, 2e9))
	// The late fields are read on the worker: let it finish before the
	// process goes.
	execs.wait(t, 2)
	proc.remove(300)
	// Reparented to init by now.
	src.sendEvents(t, exitEvent(300, 1, 3e9, 0x0200))

	ev := exits.wait(t, 1)[0]
	exec := execs.forPID(300)[0]
	require.Equal(t, wantCurl(m), *ev.Process)
	require.Equal(t, *exec.Process, *ev.Process, "the exit shows what the exec read")
	require.Equal(t, "/home/u", ev.Process.Cwd)
	require.Equal(t, testContainerID, ev.Process.ContainerID)
	require.Equal(t, testUIDs, ev.Process.UIDs)
	require.Equal(t, int32(250), ev.ParentPID, "the parent it was started by, not the reaper")
	require.Equal(t, int32(2), ev.ExitCode)
	require.Equal(t, exitEvent(300, 1, 3e9, 0x0200), ev.Kernel)
	require.Equal(t, uint64(1), m.Counters().Tracked, "only the shell is left")
}

// requireLateFields fails unless p, made from shellAndCurl's curl, has its
// working directory and container, or at least says it could not read them.
func requireLateFields(t *testing.T, p *Process) {
	t.Helper()
	require.True(t, p.Cwd != "" || !p.Has(procevent.FieldCwd), "Cwd empty but not marked missing")
	require.True(t, p.Cgroup != "" || !p.Has(procevent.FieldCgroup), "Cgroup empty but not marked missing")
	require.Equal(t, "/home/u", p.Cwd)
	require.Equal(t, testContainerID, p.ContainerID)
}

// TestLateFieldsWithoutExecCallback: the worker reads Cwd and Cgroup only
// when it runs an exec event, so a process whose exec no exec callback got
// has neither, and Missing still says both were read.
func TestLateFieldsWithoutExecCallback(t *testing.T) {
	t.Run("exit subscribers only", func(t *testing.T) {
		proc := shellAndCurl(t)
		m, op := newMonitor(t, Config{ProcRoot: proc.dir})
		var exits recorder
		m.SubscribeExit(exits.record)
		src := initialize(t, m, op)

		// /proc/300 stays, so that when the late fields are read cannot matter.
		src.sendEvents(t, execEvent(300, 2e9), exitEvent(300, 1, 3e9, 0))
		requireLateFields(t, exits.wait(t, 1)[0].Process)
	})
	t.Run("other subscribers only", func(t *testing.T) {
		proc := shellAndCurl(t)
		m, op := newMonitor(t, Config{ProcRoot: proc.dir})
		var others recorder
		m.SubscribeOther(others.record)
		src := initialize(t, m, op)

		src.sendEvents(t, execEvent(300, 2e9), procevent.Event{Kind: procevent.KindComm, Timestamp: 3e9, PID: 300, TGID: 300})
		p := others.wait(t, 1)[0].Process
		require.Equal(t, "/usr/bin/curl", p.Exe, "the comm event carries the table's entry")
		requireLateFields(t, p)
	})
	t.Run("exec dropped", func(t *testing.T) {
		proc := shellAndCurl(t)
		m, op := newMonitor(t, Config{ProcRoot: proc.dir, Workers: 1, QueueSize: 1})
		g := newGate(t)
		m.SubscribeExec(g.callback)
		var exits recorder
		m.SubscribeExit(exits.record)
		src := initialize(t, m, op)

		// One exec in the stuck callback, one queued: curl's is dropped.
		src.sendEvents(t, execEvent(10, 1e9))
		require.Eventually(t, func() bool { return g.entered.Load() == 1 }, waitFor, tick)
		src.sendEvents(t, execEvent(11, 1e9), execEvent(300, 2e9))
		require.Equal(t, uint64(1), m.Counters().ExecDropped)
		g.open()
		require.Eventually(t, func() bool { return g.rec.count() == 2 }, waitFor, tick)
		src.sendEvents(t, exitEvent(300, 1, 3e9, 0))
		requireLateFields(t, exits.wait(t, 1)[0].Process)
	})
}

// TestScanParentName: the initial scan reads /proc in name order, so a
// child whose pid sorts before its parent's is read while the parent is not
// yet in the table.
func TestScanParentName(t *testing.T) {
	proc := newProcRoot(t)
	proc.add(20, 1, 10, "/usr/bin/bash", "bash")
	proc.add(100, 20, 11, "/usr/bin/vim", "vim")
	proc.add(300, 20, 12, "/usr/bin/top", "top")
	m, op := newMonitor(t, Config{ProcRoot: proc.dir, ScanExisting: true})
	var execs recorder
	m.SubscribeExec(execs.record)
	initialize(t, m, op)
	execs.wait(t, 3)
	require.Equal(t, "bash", execs.forPID(300)[0].Process.ParentName)
	require.Equal(t, "bash", execs.forPID(100)[0].Process.ParentName, "the parent runs too")
}

func TestBoundedPidTable(t *testing.T) {
	proc := newProcRoot(t)
	pids := []int32{801, 802, 803, 804, 805}
	for _, pid := range pids {
		proc.add(pid, 1, uint64(pid), fmt.Sprintf("/usr/bin/w%d", pid), "w")
	}
	m, op := newMonitor(t, Config{ProcRoot: proc.dir, MaxTracked: 3})
	var exits recorder
	m.SubscribeExit(exits.record)
	src := initialize(t, m, op)

	for _, pid := range pids {
		src.sendEvents(t, execEvent(pid, 1e9))
	}
	c := m.Counters()
	require.Equal(t, uint64(3), c.Tracked)
	require.Equal(t, uint64(2), c.Evictions)
	require.Nil(t, m.table.get(801))
	require.Nil(t, m.table.get(802))

	tracked := []uint64{3, 3, 2, 1, 0}
	for i, pid := range pids {
		proc.remove(pid)
		src.sendEvents(t, exitEvent(pid, 1, 2e9, 0))
		require.Equal(t, tracked[i], m.Counters().Tracked, "after the exit of %d", pid)
	}
	exits.wait(t, len(pids))
	for i, pid := range pids {
		evs := exits.forPID(pid)
		require.Len(t, evs, 1, "pid %d", pid)
		p := evs[0].Process
		if i < 2 {
			require.Empty(t, p.Exe, "pid %d was evicted", pid)
			require.Equal(t, allMissing, p.Missing, "pid %d", pid)
			continue
		}
		require.Equal(t, fmt.Sprintf("/usr/bin/w%d", pid), p.Exe, "pid %d", pid)
		require.Equal(t, uint64(pid), p.StartTicks)
	}
	c = m.Counters()
	require.Equal(t, uint64(2), c.Evictions, "exits evict nothing")
	require.Zero(t, c.PidReuse)
}

func TestPidReuseAfterLoss(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lost     uint64
		newStart uint64 // the start time /proc shows at the exit; 0: reaped
		reused   bool
	}{
		{"lost events, start time changed", 5, 999, true},
		{"no loss, start time changed", 0, 999, false},
		{"lost events, same start time", 5, 100, false},
		{"lost events, reaped", 5, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proc := newProcRoot(t)
			proc.add(700, 1, 100, "/usr/bin/make", "make")
			m, op := newMonitor(t, Config{ProcRoot: proc.dir})
			var exits recorder
			m.SubscribeExit(exits.record)
			src := initialize(t, m, op)

			src.sendEvents(t, execEvent(700, 1e9))
			if tc.lost > 0 {
				src.send(t, step{lost: tc.lost})
			}
			// Another process holds pid 700 now, its fork and exec lost.
			if tc.newStart == 0 {
				proc.remove(700)
			} else {
				proc.writeFile(700, "stat", statLine(700, 1, tc.newStart, "cc1"))
			}
			src.sendEvents(t, exitEvent(700, 1, 2e9, 0))

			ev := exits.wait(t, 1)[0]
			c := m.Counters()
			require.Equal(t, tc.lost, c.KernelLost)
			if tc.reused {
				require.Equal(t, &Process{PID: 700, PPID: 1, Missing: allMissing}, ev.Process,
					"the earlier holder's metadata is not attached")
				require.Equal(t, uint64(1), c.PidReuse)
			} else {
				require.Equal(t, "/usr/bin/make", ev.Process.Exe)
				require.Equal(t, uint64(100), ev.Process.StartTicks)
				require.Zero(t, c.PidReuse)
			}
			require.Equal(t, int32(1), ev.ParentPID)
			require.Zero(t, c.Tracked, "the entry is gone either way")
		})
	}
}

// TestPidReuseOnlyForEntriesBeforeLoss: an entry made after the loss is
// trusted, whatever /proc says at its exit.
func TestPidReuseOnlyForEntriesBeforeLoss(t *testing.T) {
	proc := newProcRoot(t)
	proc.add(700, 1, 100, "/usr/bin/make", "make")
	m, op := newMonitor(t, Config{ProcRoot: proc.dir})
	var exits recorder
	m.SubscribeExit(exits.record)
	src := initialize(t, m, op)

	src.send(t, step{lost: 3})
	src.sendEvents(t, execEvent(700, 1e9))
	proc.writeFile(700, "stat", statLine(700, 1, 999, "cc1"))
	src.sendEvents(t, exitEvent(700, 1, 2e9, 0))
	require.Equal(t, "/usr/bin/make", exits.wait(t, 1)[0].Process.Exe)
	require.Zero(t, m.Counters().PidReuse)
}

// otherEvents are the non-fork, non-exec, non-exit events the other
// subscribers get, about nginx (400), its forked child (401) and an
// unknown process (999).
func otherEvents() []procevent.Event {
	comm := procevent.Event{Kind: procevent.KindComm, CPU: 3, Timestamp: 3e9, PID: 400, TGID: 400}
	copy(comm.Comm[:], "nginx: worker")
	return []procevent.Event{
		comm,
		{Kind: procevent.KindUID, Timestamp: 4e9, PID: 400, TGID: 400, RealID: 1000, EffectiveID: 0},
		{Kind: procevent.KindGID, Timestamp: 5e9, PID: 400, TGID: 400, RealID: 100, EffectiveID: 33},
		{Kind: procevent.KindSID, Timestamp: 6e9, PID: 401, TGID: 401},
		{Kind: procevent.KindPtrace, Timestamp: 7e9, PID: 999, TGID: 999, TracerPID: 7, TracerTGID: 7},
		{Kind: procevent.KindCoredump, Timestamp: 8e9, PID: 400, TGID: 400, ParentPID: 1, ParentTGID: 1},
	}
}

func TestOtherEvents(t *testing.T) {
	proc := newProcRoot(t)
	proc.add(400, 1, 700, "/usr/sbin/nginx", "nginx", "-g", "daemon off;")
	// One worker: events arrive in the order sent, so a later one proves an
	// earlier one was skipped.
	m, op := newMonitor(t, Config{ProcRoot: proc.dir, Workers: 1})
	var others recorder
	m.SubscribeOther(others.record)
	src := initialize(t, m, op)

	fork := forkEvent(401, 400, 2e9)
	thread := procevent.Event{Kind: procevent.KindFork, Timestamp: 2e9, PID: 402, TGID: 400, ParentPID: 400, ParentTGID: 400}
	sent := append([]procevent.Event{execEvent(400, 1e9), fork, thread}, otherEvents()...)
	src.sendEvents(t, sent...)

	want := append([]procevent.Event{fork}, otherEvents()...)
	got := others.wait(t, len(want))
	require.Len(t, got, len(want), "the exec and the thread's fork are not delivered")
	for i, ev := range got {
		require.Equal(t, want[i].Kind, ev.Kind, "event %d", i)
		require.Equal(t, want[i], ev.Kernel, "event %d keeps the kernel's fields", i)
		require.Equal(t, monoTime(want[i].Timestamp), ev.Time, "event %d", i)
		require.Equal(t, Live, ev.Scan)
		require.False(t, ev.Observed.IsZero())
	}

	child := got[0]
	require.Equal(t, procevent.KindFork, child.Kernel.Kind)
	require.Equal(t, int32(401), child.Process.PID)
	require.Equal(t, int32(400), child.Process.PPID)
	require.Equal(t, int32(400), child.ParentPID)
	require.Equal(t, "/usr/sbin/nginx", child.Process.Exe, "a child runs its parent's program until it execs")
	require.Equal(t, []string{"nginx", "-g", "daemon off;"}, child.Process.Args)
	require.Equal(t, "nginx", child.Process.ParentName)
	require.False(t, child.Process.Has(procevent.FieldStat))

	require.Equal(t, "nginx: worker", string(got[1].Kernel.Comm[:len("nginx: worker")]))
	require.Zero(t, got[1].Kernel.Comm[len("nginx: worker")], "NUL-padded")
	require.Equal(t, uint32(1000), got[2].Kernel.RealID)
	require.Equal(t, uint32(0), got[2].Kernel.EffectiveID)
	require.Equal(t, uint32(33), got[3].Kernel.EffectiveID)
	for _, i := range []int{1, 2, 3, 6} {
		p := got[i].Process
		require.Equal(t, int32(400), p.PID, "event %d", i)
		require.Equal(t, "/usr/sbin/nginx", p.Exe, "event %d is about the table's process", i)
		require.Equal(t, uint64(700), p.StartTicks, "event %d", i)
	}
	require.Equal(t, int32(401), got[4].Process.PID)
	require.Equal(t, "/usr/sbin/nginx", got[4].Process.Exe, "the forked child's entry")
	require.Equal(t, &Process{PID: 999, Missing: allMissing}, got[5].Process, "an unknown process")
	require.Equal(t, int32(7), got[5].Kernel.TracerTGID)

	c := m.Counters()
	require.Equal(t, uint64(2), c.Events[procevent.KindFork], "thread forks are counted as events")
	require.Nil(t, m.table.get(402), "a thread is not tracked")
	require.NotNil(t, m.table.get(401))
	require.Equal(t, uint64(2), c.Tracked)
	require.Equal(t, uint64(len(want)), c.CallbacksExecuted)
	require.Equal(t, [procevent.NumKinds]uint64{}, c.Dropped)
}

func TestOtherEventsNotQueuedWithoutSubscribers(t *testing.T) {
	proc := newProcRoot(t)
	proc.add(400, 1, 700, "/usr/sbin/nginx", "nginx")
	m, op := newMonitor(t, Config{ProcRoot: proc.dir, Workers: 1, QueueSize: 1})
	g := newGate(t)
	m.SubscribeExec(g.callback)
	var exits recorder
	m.SubscribeExit(exits.record)
	src := initialize(t, m, op)

	// One exec in the stuck callback, one in the queue: the queue is full.
	src.sendEvents(t, execEvent(400, 1e9))
	require.Eventually(t, func() bool { return g.entered.Load() == 1 }, waitFor, tick)
	src.sendEvents(t, execEvent(400, 1e9))
	require.Equal(t, [procevent.NumKinds]uint64{}, m.Counters().Dropped)

	for range 20 {
		var evs []procevent.Event
		for i := range int32(10) {
			evs = append(evs, forkEvent(1000+i, 400, 2e9))
		}
		src.sendEvents(t, append(evs, otherEvents()...)...)
	}
	c := m.Counters()
	require.Equal(t, [procevent.NumKinds]uint64{}, c.Dropped, "nothing queued for no one")
	require.Equal(t, uint64(200), c.Events[procevent.KindFork])
	require.NotNil(t, m.table.get(1005), "forks are still tracked for the exit subscribers")
	g.open()
}

func TestOtherEventsDroppedWhenQueueFull(t *testing.T) {
	const forks = 30
	proc := newProcRoot(t)
	proc.add(400, 1, 700, "/usr/sbin/nginx", "nginx")
	m, op := newMonitor(t, Config{ProcRoot: proc.dir, Workers: 1, QueueSize: 1})
	g := newGate(t)
	m.SubscribeOther(g.callback)
	src := initialize(t, m, op)

	src.sendEvents(t, execEvent(400, 1e9))
	for i := range int32(forks) {
		src.sendEvents(t, forkEvent(1000+i, 400, 2e9))
	}
	require.Eventually(t, func() bool { return g.entered.Load() == 1 }, waitFor, tick)
	// One in the callback and one in the queue at most.
	require.GreaterOrEqual(t, m.Counters().Dropped[procevent.KindFork], uint64(forks-2))

	g.open()
	m.Stop()
	c := m.Counters()
	require.Equal(t, uint64(forks), uint64(g.rec.count())+c.Dropped[procevent.KindFork], "every fork delivered or dropped")
	dropped := c.Dropped
	dropped[procevent.KindFork] = 0
	require.Equal(t, [procevent.NumKinds]uint64{}, dropped, "only forks dropped")
	require.Zero(t, c.ExecDropped)
}

func TestForkOnlyChildExit(t *testing.T) {
	proc := newProcRoot(t)
	nginx := procfs.Stat{PID: 400, Comm: "nginx", PPID: 1, PGRP: 400, Session: 400, StartTicks: 700}
	addEnriched(proc, nginx, "/usr/sbin/nginx", "nginx", "-g", "daemon off;")
	m, op := newMonitor(t, Config{ProcRoot: proc.dir})
	var execs, exits recorder
	m.SubscribeExec(execs.record)
	m.SubscribeExit(exits.record)
	src := initialize(t, m, op)

	src.sendEvents(t, execEvent(400, 1e9), forkEvent(401, 400, 2e9))
	execs.wait(t, 1)
	// The child exits before any exec, and is reaped by then.
	src.sendEvents(t, exitEvent(401, 0, 3e9, 0))
	ev := exits.wait(t, 1)[0]
	p := ev.Process
	require.Equal(t, int32(401), p.PID)
	require.Equal(t, int32(400), p.PPID)
	require.Equal(t, int32(400), ev.ParentPID, "the fork named the parent the exit did not")
	require.Equal(t, "/usr/sbin/nginx", p.Exe)
	require.Equal(t, "nginx", p.ParentName)
	require.Equal(t, "nginx", p.Name())
	require.Equal(t, "nginx", p.Comm)
	require.Equal(t, []string{"nginx", "-g", "daemon off;"}, p.Args)
	require.Equal(t, testUIDs, p.UIDs)
	require.True(t, p.IDsKnown)
	require.Equal(t, procevent.Fields(1<<procevent.FieldStat|1<<procevent.FieldCwd|1<<procevent.FieldCgroup), p.Missing,
		"what a fork cannot copy from its parent's entry is missing")
	require.Len(t, execs.all(), 1, "a fork is not an exec")
	require.Equal(t, uint64(1), m.Counters().Tracked, "only nginx is left")
}

// TestExecAfterForkReplacesInherited: the child's own exec replaces what
// it inherited, and names its parent.
func TestExecAfterForkReplacesInherited(t *testing.T) {
	proc := newProcRoot(t)
	addEnriched(proc, bashStat, "/usr/bin/bash", "-bash")
	m, op := newMonitor(t, Config{ProcRoot: proc.dir})
	var execs, exits recorder
	m.SubscribeExec(execs.record)
	m.SubscribeExit(exits.record)
	src := initialize(t, m, op)

	src.sendEvents(t, execEvent(250, 1e9), forkEvent(300, 250, 2e9))
	require.Equal(t, "/usr/bin/bash", m.table.get(300).Exe)
	addEnriched(proc, curlStat, "/usr/bin/curl", curlArgs...)
	src.sendEvents(t, execEvent(300, 3e9))
	execs.wait(t, 2)
	proc.remove(300)
	src.sendEvents(t, exitEvent(300, 250, 4e9, 0))
	ev := exits.wait(t, 1)[0]
	require.Equal(t, wantCurl(m), *ev.Process)
}

// TestExecOfGoneForkedChild: a child gone before its exec's stat was read
// still names the parent its fork gave.
func TestExecOfGoneForkedChild(t *testing.T) {
	proc := newProcRoot(t)
	addEnriched(proc, bashStat, "/usr/bin/bash", "-bash")
	m, op := newMonitor(t, Config{ProcRoot: proc.dir})
	var execs recorder
	m.SubscribeExec(execs.record)
	src := initialize(t, m, op)

	src.sendEvents(t, execEvent(250, 1e9), forkEvent(301, 250, 2e9), execEvent(301, 3e9))
	execs.wait(t, 2)
	ev := execs.forPID(301)
	require.Len(t, ev, 1)
	require.Equal(t, &Process{PID: 301, PPID: 250, ParentName: "bash", Missing: allMissing}, ev[0].Process,
		"what the exec could not read is not taken from the parent")
	require.Equal(t, int32(250), ev[0].ParentPID)
}
