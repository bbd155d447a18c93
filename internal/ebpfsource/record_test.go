package ebpfsource

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procmon-otel/procmon/internal/procevent"
)

// taskBytes is a struct task as the BPF programs write it.
type taskBytes struct {
	pid, tgid, ppid, parentPID, pgid, sid int32
	flags                                 uint32
	start                                 uint64
	comm                                  string
}

// record builds a record of kind with task t, then extra bytes.
func record(kind uint32, cpu uint32, ktime uint64, t taskBytes, extra ...byte) []byte {
	b := make([]byte, taskEnd)
	ne.PutUint32(b[offKind:], kind)
	ne.PutUint32(b[offCPU:], cpu)
	ne.PutUint64(b[offKtime:], ktime)
	for off, v := range map[int]int32{offPID: t.pid, offTGID: t.tgid, offPPID: t.ppid, offParentPID: t.parentPID, offPGID: t.pgid, offSID: t.sid} {
		ne.PutUint32(b[off:], uint32(v))
	}
	ne.PutUint32(b[offTaskFlags:], t.flags)
	ne.PutUint64(b[offStartBoot:], t.start)
	copy(b[offComm:offComm+16], t.comm)
	return append(b, extra...)
}

// execBytes is an exec record's part after the task.
type execBytes struct {
	uids, gids          [4]uint32
	cgroupID            uint64
	argc, flags         uint32
	exe, cwd, cg, args  string
	exeLen, argsLenDiff int // added to the true lengths, to break them
}

func execRecord(t taskBytes, e execBytes) []byte {
	b := record(recordExec, 1, 5000, t, make([]byte, execRecordLen-taskEnd)...)
	for i := range 4 {
		ne.PutUint32(b[offUID+4*i:], e.uids[i])
		ne.PutUint32(b[offGID+4*i:], e.gids[i])
	}
	ne.PutUint64(b[offCgroupID:], e.cgroupID)
	ne.PutUint32(b[offArgc:], e.argc)
	ne.PutUint32(b[offExecFlags:], e.flags)
	ne.PutUint16(b[offExeLen:], uint16(len(e.exe)+e.exeLen))
	ne.PutUint16(b[offCwdLen:], uint16(len(e.cwd)))
	ne.PutUint16(b[offCgroupLen:], uint16(len(e.cg)))
	ne.PutUint32(b[offArgsLen:], uint32(len(e.args)+e.argsLenDiff))
	return append(b, e.exe+e.cwd+e.cg+e.args...)
}

var curl = taskBytes{pid: 300, tgid: 300, ppid: 250, parentPID: 251, pgid: 300, sid: 250, flags: taskTTY, start: 4e10, comm: "curl"}

func comm(s string) (c [16]byte) {
	copy(c[:], s)
	return c
}

func TestDecodeExec(t *testing.T) {
	b := execRecord(curl, execBytes{
		uids: [4]uint32{1000, 1001, 1002, 1003}, gids: [4]uint32{100, 101, 102, 103}, cgroupID: 77, argc: 3,
		exe: "/usr/bin/curl", cwd: "/home/u", cg: "/system.slice/x.scope", args: "curl\x00-s\x00\x00",
	})
	var d decoder
	var ev procevent.Event
	require.NoError(t, d.decode(b, &ev))
	require.Equal(t, procevent.Event{
		Kind: procevent.KindExec, CPU: 1, Timestamp: 5000, PID: 300, TGID: 300, ParentPID: 251, ParentTGID: 250,
		Content: procevent.Content{
			Have: procevent.AllFields,
			Exe:  []byte("/usr/bin/curl"), Cwd: []byte("/home/u"), Cgroup: []byte("/system.slice/x.scope"),
			Args: []byte("curl\x00-s\x00\x00"), Argc: 3,
			PPID: 250, PGID: 300, SID: 250, TTY: true, StartBoottime: 4e10, Comm: comm("curl"),
			UIDs: [4]uint32{1000, 1001, 1002, 1003}, GIDs: [4]uint32{100, 101, 102, 103}, CgroupID: 77,
		},
	}, ev)
}

func TestDecodeExecFlags(t *testing.T) {
	b := execRecord(curl, execBytes{
		argc: 2, flags: execExeCut | execArgsCut | execExeDeleted | execCwdDeleted | execNoCgroup,
		exe: "/tmp/gone", cwd: "/tmp/d", args: "curl\x00-",
	})
	var d decoder
	var ev procevent.Event
	require.NoError(t, d.decode(b, &ev))
	c := ev.Content
	require.Equal(t, procevent.AllFields.Without(procevent.FieldCgroup), c.Have)
	require.Equal(t, procevent.Fields(1<<procevent.FieldExe|1<<procevent.FieldCmdline), c.Cut)
	require.Equal(t, "/tmp/gone (deleted)", string(c.Exe))
	require.Equal(t, "/tmp/d (deleted)", string(c.Cwd))
	require.Nil(t, c.Cgroup)
	require.Equal(t, "curl\x00-", string(c.Args))

	// Nothing read, nothing claimed.
	b = execRecord(curl, execBytes{flags: execNoExe | execNoCwd | execNoCgroup | execNoArgs})
	require.NoError(t, d.decode(b, &ev))
	require.Equal(t, procevent.Fields(1<<procevent.FieldStat|1<<procevent.FieldStatus), ev.Content.Have)
	require.Zero(t, ev.Content.Cut)
}

func TestDecodeExit(t *testing.T) {
	status := make([]byte, 8)
	ne.PutUint32(status, 0x86) // SIGABRT, core dumped
	var d decoder
	var ev procevent.Event
	require.NoError(t, d.decode(record(recordExit, 0, 9000, curl, status...), &ev))
	require.Equal(t, procevent.Event{
		Kind: procevent.KindExit, Timestamp: 9000, PID: 300, TGID: 300, ParentPID: 251, ParentTGID: 250,
		ExitStatus: 0x86, GroupDead: true,
		Content: procevent.Content{Have: 1 << procevent.FieldStat, PPID: 250, PGID: 300, SID: 250, TTY: true,
			StartBoottime: 4e10, Comm: comm("curl")},
	}, ev)
}

func TestDecodeFork(t *testing.T) {
	var d decoder
	var ev procevent.Event
	child := taskBytes{pid: 400, tgid: 400, ppid: 300, parentPID: 302, pgid: 300, sid: 250, start: 5e10, comm: "curl"}
	require.NoError(t, d.decode(record(recordFork, 1, 7000, child), &ev))
	require.Equal(t, procevent.Event{
		Kind: procevent.KindFork, CPU: 1, Timestamp: 7000, PID: 400, TGID: 400, ParentPID: 302, ParentTGID: 300,
		Content: procevent.Content{Have: 1 << procevent.FieldStat, PPID: 300, PGID: 300, SID: 250,
			StartBoottime: 5e10, Comm: comm("curl")},
	}, ev)
}

func TestDecodeRejects(t *testing.T) {
	good := execRecord(curl, execBytes{exe: "/bin/x", args: "x\x00", argc: 1})
	for name, b := range map[string][]byte{
		"empty":                  nil,
		"short header":           good[:offTask-1],
		"short exec":             good[:execRecordLen-1],
		"short exit":             record(recordExit, 0, 0, curl, make([]byte, exitRecordLen-taskEnd-1)...),
		"short fork":             record(recordFork, 0, 0, curl)[:forkRecordLen-1],
		"unknown kind":           record(99, 0, 0, curl),
		"exe beyond the record":  execRecord(curl, execBytes{exe: "/bin/x", exeLen: 1}),
		"args beyond the record": execRecord(curl, execBytes{args: "x\x00", argsLenDiff: 1 << 20}),
	} {
		var d decoder
		var ev procevent.Event
		require.Error(t, d.decode(b, &ev), name)
	}
}

func TestDecodeAllocatesNothing(t *testing.T) {
	records := [][]byte{
		execRecord(curl, execBytes{exe: "/usr/bin/curl", cwd: "/", cg: "/", args: "curl\x00", argc: 1}),
		execRecord(curl, execBytes{flags: execExeDeleted | execCwdDeleted, exe: "/tmp/x", cwd: "/tmp", args: "x\x00", argc: 1}),
		record(recordExit, 0, 0, curl, make([]byte, 8)...),
		record(recordFork, 0, 0, curl),
	}
	var d decoder
	var ev procevent.Event
	for _, b := range records { // the first " (deleted)" grows the decoder's memory
		require.NoError(t, d.decode(b, &ev))
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, b := range records {
			_ = d.decode(b, &ev)
		}
	})
	require.Zero(t, allocs)
}

func BenchmarkDecodeExec(b *testing.B) {
	rec := execRecord(curl, execBytes{exe: "/usr/bin/curl", cwd: "/home/u", cg: "/system.slice/x.scope",
		args: "curl\x00-s\x00http://example.com\x00", argc: 3})
	var d decoder
	var ev procevent.Event
	b.ReportAllocs()
	for b.Loop() {
		if err := d.decode(rec, &ev); err != nil {
			b.Fatal(err)
		}
	}
}
