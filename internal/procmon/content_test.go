package procmon

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procmon-otel/procmon/internal/procevent"
)

func TestSplitArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		argc int
		want []string
	}{
		{"plain", "ls\x00-l\x00", 2, []string{"ls", "-l"}},
		{"empty last argument", "printf\x00%s\x00\x00", 3, []string{"printf", "%s", ""}},
		{"empty arguments only", "\x00\x00", 2, []string{"", ""}},
		{"no arguments", "", 0, []string{}},
		{"spaces and non-ASCII", "echo\x00a b\x00héllo\x00", 3, []string{"echo", "a b", "héllo"}},
		{"cut inside the last argument", "cat\x00/very/lo", 2, []string{"cat", "/very/lo"}},
		{"cut before later arguments", "cat\x00a\x00", 5, []string{"cat", "a"}},
		{"more NULs than argc", "a\x00b\x00c\x00", 2, []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, splitArgs([]byte(tc.raw), tc.argc))
		})
	}
}

func TestSplitArgsBoundsItsAllocation(t *testing.T) {
	// A process may claim a huge argc while its record holds a few bytes.
	args := splitArgs([]byte("a\x00"), 1<<30)
	require.Equal(t, []string{"a"}, args)
	require.LessOrEqual(t, cap(args), 2)
}

// fullContent is what a source that captures everything brings of curl.
func fullContent() procevent.Content {
	c := procevent.Content{
		Have: procevent.AllFields,
		Exe:  []byte("/usr/bin/curl"), Cwd: []byte("/home/u"), Cgroup: []byte(testCgroup),
		Args: []byte("curl\x00-s\x00http://example.com\x00"), Argc: 3,
		PPID: 250, PGID: 300, SID: 250, TTY: true, StartBoottime: 4000 * 1e7,
		UIDs: testUIDs, GIDs: testGIDs, CgroupID: 77,
	}
	copy(c.Comm[:], "curl")
	return c
}

func TestExecWithFullContentReadsNoProc(t *testing.T) {
	// The parent is in /proc, the process is not: only the source can tell.
	proc := newProcRoot(t)
	addEnriched(proc, bashStat, "/usr/bin/bash", "-bash")
	m, op := newMonitor(t, Config{ProcRoot: proc.dir})
	var execs recorder
	m.SubscribeExec(execs.record)
	src := initialize(t, m, op)

	ev := execEvent(300, 2e9)
	ev.Content = fullContent()
	src.sendEvents(t, execEvent(250, 1e9), ev)
	// The source's bytes are its own again once the sink returned.
	clear(ev.Content.Exe)
	got := execs.wait(t, 2)
	p := *byPID(got)[1].Process
	require.Equal(t, wantCurl(m), p)
	require.Equal(t, [procevent.NumFields]uint64{}, m.Counters().Misses)
}

func TestExecContentCompletedFromProc(t *testing.T) {
	proc := shellAndCurl(t)
	m, op := newMonitor(t, Config{ProcRoot: proc.dir})
	var execs recorder
	m.SubscribeExec(execs.record)
	src := initialize(t, m, op)

	// The source has the ids and the stat fields only, and a cut working
	// directory: the rest comes from /proc, and the cut one too.
	c := fullContent()
	c.Have = 1<<procevent.FieldStat | 1<<procevent.FieldStatus | 1<<procevent.FieldCwd
	c.Cut = 1 << procevent.FieldCwd
	c.Cwd = []byte("/ho")
	c.UIDs = [4]uint32{7, 7, 7, 7}
	ev := execEvent(300, 2e9)
	ev.Content = c
	src.sendEvents(t, execEvent(250, 1e9), ev)
	p := *byPID(execs.wait(t, 2))[1].Process
	want := wantCurl(m)
	want.UIDs = c.UIDs // from the source, not /proc
	require.Equal(t, want, p)
	require.Zero(t, p.Cut)
}

func TestExecCutContentKeptWhenProcIsGone(t *testing.T) {
	m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir})
	var execs recorder
	m.SubscribeExec(execs.record)
	src := initialize(t, m, op)

	c := fullContent()
	c.Cut = 1<<procevent.FieldExe | 1<<procevent.FieldCmdline
	c.Exe = []byte("/usr/bi")
	c.Args = []byte("curl\x00-s\x00htt")
	c.Argc = 5
	ev := execEvent(300, 2e9)
	ev.Content = c
	src.sendEvents(t, ev)
	p := execs.wait(t, 1)[0].Process
	require.Equal(t, "/usr/bi", p.Exe)
	require.Equal(t, []string{"curl", "-s", "htt"}, p.Args)
	require.Equal(t, 5, p.Argc, "the process's count, not what was captured")
	require.Equal(t, procevent.Fields(1<<procevent.FieldExe|1<<procevent.FieldCmdline), p.Cut)
	require.Zero(t, p.Missing, "a cut field is not a missing one")
	require.Equal(t, [procevent.NumFields]uint64{}, m.Counters().Misses)
}

func TestForkOfSourcedParentKeepsItsCgroup(t *testing.T) {
	// The child is gone from /proc: its cgroup comes from its parent's exec,
	// its working directory, which may have changed since, is not guessed.
	m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir})
	var exits recorder
	m.SubscribeExit(exits.record)
	src := initialize(t, m, op)

	parent := execEvent(300, 2e9)
	parent.Content = fullContent()
	src.sendEvents(t, parent, forkEvent(301, 300, 3e9), exitEvent(301, 300, 4e9, 0))
	p := exits.wait(t, 1)[0].Process
	require.Equal(t, testCgroup, p.Cgroup)
	require.Equal(t, testContainerID, p.ContainerID)
	require.True(t, p.Has(procevent.FieldCgroup))
	require.Empty(t, p.Cwd)
	require.False(t, p.Has(procevent.FieldCwd))
	require.Equal(t, "/usr/bin/curl", p.Exe)
}
