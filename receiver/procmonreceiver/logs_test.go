package procmonreceiver

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/internal/procmon"
	"github.com/procmon-otel/procmon/internal/redact"
	"github.com/procmon-otel/procmon/receiver/procmonreceiver/internal/metadata"
)

// recordTime has nanoseconds so that a lost sub-second part would show.
var recordTime = time.Date(2025, time.November, 25, 17, 46, 3, 123456789, time.UTC)

// startTime is when the test process started: 90.5s before recordTime, on a
// clock that is not UTC, so that a missing conversion would show.
var startTime = recordTime.Add(-90500 * time.Millisecond).In(time.FixedZone("CET", 3600))

// containerID is a container id as the cgroup path carries it.
const containerID = "4f1c2b3a4f1c2b3a4f1c2b3a4f1c2b3a4f1c2b3a4f1c2b3a4f1c2b3a4f1c2b3a"

// fakeUsers names the uids it maps.
type fakeUsers map[uint32]string

func (u fakeUsers) Name(uid uint32) string { return u[uid] }

// testUsers are the users of the records below.
var testUsers = fakeUsers{0: "root", 1001: "alice", 1002: "bob", 65534: "nobody"}

// newTestBuilder is a recordBuilder as the receiver makes it for mode and
// maxLen, with the default rules plus extra patterns.
func newTestBuilder(t *testing.T, mode redact.Mode, maxLen int, extra ...string) *recordBuilder {
	t.Helper()
	r, err := redact.New(extra)
	require.NoError(t, err)
	return &recordBuilder{mode: mode, redactor: r, users: testUsers, maxLen: maxLen}
}

// defaultBuilder is the builder of the default configuration.
func defaultBuilder(t *testing.T) *recordBuilder {
	return newTestBuilder(t, redact.ModeRedacted, 4096)
}

// sleepProcess is a typical process with every field known.
func sleepProcess() *procmon.Process {
	return &procmon.Process{
		PID:         4242,
		PPID:        1000,
		StartTicks:  987654,
		StartTime:   startTime,
		Exe:         "/usr/bin/sleep",
		Comm:        "sleep",
		Args:        []string{"sleep", "10", "--verbose"},
		PGID:        4200,
		SID:         4100,
		Interactive: true,
		UIDs:        [4]uint32{1002, 1001, 1003, 1004},
		GIDs:        [4]uint32{2002, 2001, 2003, 2004},
		IDsKnown:    true,
		ParentName:  "bash",
		Cwd:         "/home/alice/work",
		Cgroup:      "/system.slice/docker-" + containerID + ".scope",
		ContainerID: containerID,
	}
}

// recordEvent is a live event of kind k for sleepProcess, read 3ms after it
// happened.
func recordEvent(k procevent.Kind) *procmon.ProcessEvent {
	return &procmon.ProcessEvent{
		Kind:      k,
		Scan:      procmon.Live,
		Time:      recordTime,
		Observed:  recordTime.Add(3 * time.Millisecond),
		CPU:       3,
		Process:   sleepProcess(),
		ParentPID: 1000,
	}
}

// sleepDetails are the attributes exec and exit records carry for
// sleepProcess in the default configuration.
func sleepDetails() map[string]any {
	return map[string]any{
		"process.pid":                    int64(4242),
		"process.parent_pid":             int64(1000),
		"process.executable.name":        "sleep",
		"process.executable.path":        "/usr/bin/sleep",
		"process.command":                "sleep",
		"process.command_args":           []any{"sleep", "10", "--verbose"},
		"process.args_count":             int64(3),
		"process.working_directory":      "/home/alice/work",
		"process.owner":                  "alice",
		"process.user.id":                int64(1001),
		"process.user.name":              "alice",
		"process.real_user.id":           int64(1002),
		"process.real_user.name":         "bob",
		"process.saved_user.id":          int64(1003),
		"procmon.group.id":               int64(2001),
		"procmon.real_group.id":          int64(2002),
		"procmon.saved_group.id":         int64(2003),
		"process.group_leader.pid":       int64(4200),
		"process.session_leader.pid":     int64(4100),
		"process.interactive":            true,
		"process.creation.time":          "2025-11-25T17:44:32.623456789Z",
		"process.linux.cgroup":           "/system.slice/docker-" + containerID + ".scope",
		"procmon.parent.executable.name": "bash",
		"procmon.cpu":                    int64(3),
	}
}

// with returns a copy of m with the pairs of kv (key, value, ...) set, or
// deleted where the value is nil.
func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m)+len(kv)/2)
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// buildOne builds the record of ev with b and checks what every record has.
func buildOne(t *testing.T, b *recordBuilder, ev *procmon.ProcessEvent) plog.LogRecord {
	t.Helper()
	rs := plog.NewLogRecordSlice()
	b.appendRecord(rs, ev)
	require.Equal(t, 1, rs.Len())
	lr := rs.At(0)
	require.Equal(t, "procmon."+ev.Kind.String(), lr.EventName())
	require.Equal(t, pcommon.NewTimestampFromTime(ev.Time), lr.Timestamp())
	require.Equal(t, pcommon.NewTimestampFromTime(ev.Observed), lr.ObservedTimestamp())
	require.Equal(t, pcommon.ValueTypeStr, lr.Body().Type())
	return lr
}

func TestExecRecordCarriesEveryAttribute(t *testing.T) {
	lr := buildOne(t, defaultBuilder(t), recordEvent(procevent.KindExec))
	require.Equal(t, "procmon.exec", lr.EventName())
	require.Equal(t, plog.SeverityNumberInfo, lr.SeverityNumber())
	require.Equal(t, "INFO", lr.SeverityText())
	require.Equal(t, "exec /usr/bin/sleep (pid 4242)", lr.Body().Str())
	require.Equal(t, sleepDetails(), lr.Attributes().AsRaw())

	// The argument list is a slice of strings, not one string.
	args, ok := lr.Attributes().Get(attrCommandArgs)
	require.True(t, ok)
	require.Equal(t, pcommon.ValueTypeSlice, args.Type())
	// The creation time parses back to the process's start, to the nanosecond.
	ct, ok := lr.Attributes().Get(attrCreationTime)
	require.True(t, ok)
	parsed, err := time.Parse(time.RFC3339Nano, ct.Str())
	require.NoError(t, err)
	require.True(t, parsed.Equal(startTime), "creation time %s, want %s", parsed, startTime)
}

func TestAppendRecord(t *testing.T) {
	tests := []struct {
		name      string
		ev        func() *procmon.ProcessEvent
		wantSev   plog.SeverityNumber
		wantText  string
		wantBody  string
		wantAttrs map[string]any
	}{
		{
			name: "initial scan exec",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindExec)
				ev.Scan = procmon.InitialScan
				ev.Time = startTime
				return ev
			},
			wantSev:  plog.SeverityNumberInfo,
			wantText: "INFO",
			wantBody: "exec /usr/bin/sleep (pid 4242)",
			// A scan has no kernel CPU: procmon.cpu is left out even if set.
			wantAttrs: with(sleepDetails(), "procmon.cpu", nil, "procmon.initial_scan", true),
		},
		{
			name: "rescan exec",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindExec)
				ev.Scan = procmon.Rescan
				return ev
			},
			wantSev:   plog.SeverityNumberInfo,
			wantText:  "INFO",
			wantBody:  "exec /usr/bin/sleep (pid 4242)",
			wantAttrs: with(sleepDetails(), "procmon.cpu", nil, "procmon.rescan", true),
		},
		{
			name:     "exit code 0",
			ev:       func() *procmon.ProcessEvent { return recordEvent(procevent.KindExit) },
			wantSev:  plog.SeverityNumberInfo,
			wantText: "INFO",
			wantBody: "exit /usr/bin/sleep (pid 4242) code 0",
			wantAttrs: with(sleepDetails(),
				"process.exit.code", int64(0),
				"process.exit.time", "2025-11-25T17:46:03.123456789Z",
				"procmon.lifetime", 90.5),
		},
		{
			name: "exit code 2",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindExit)
				ev.ExitCode = 2
				return ev
			},
			wantSev:  plog.SeverityNumberWarn,
			wantText: "WARN",
			wantBody: "exit /usr/bin/sleep (pid 4242) code 2",
			wantAttrs: with(sleepDetails(),
				"process.exit.code", int64(2),
				"process.exit.time", "2025-11-25T17:46:03.123456789Z",
				"procmon.lifetime", 90.5),
		},
		{
			name: "killed by SIGKILL",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindExit)
				ev.Signal = 9
				return ev
			},
			wantSev:  plog.SeverityNumberWarn,
			wantText: "WARN",
			wantBody: "exit /usr/bin/sleep (pid 4242) killed by SIGKILL",
			// A killed process has no exit code, so process.exit.code is absent.
			wantAttrs: with(sleepDetails(),
				"procmon.exit.signal", "SIGKILL",
				"process.exit.time", "2025-11-25T17:46:03.123456789Z",
				"procmon.lifetime", 90.5),
		},
		{
			name: "SIGSEGV with core dump",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindExit)
				ev.Signal = 11
				ev.CoreDumped = true
				return ev
			},
			wantSev:  plog.SeverityNumberError,
			wantText: "ERROR",
			wantBody: "exit /usr/bin/sleep (pid 4242) killed by SIGSEGV (core dumped)",
			wantAttrs: with(sleepDetails(),
				"procmon.exit.signal", "SIGSEGV",
				"procmon.exit.core_dumped", true,
				"process.exit.time", "2025-11-25T17:46:03.123456789Z",
				"procmon.lifetime", 90.5),
		},
		{
			name: "exit before its start time has lifetime 0",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindExit)
				ev.Process.StartTime = recordTime.Add(time.Second)
				return ev
			},
			wantSev:  plog.SeverityNumberInfo,
			wantText: "INFO",
			wantBody: "exit /usr/bin/sleep (pid 4242) code 0",
			wantAttrs: with(sleepDetails(),
				"process.creation.time", "2025-11-25T17:46:04.123456789Z",
				"process.exit.code", int64(0),
				"process.exit.time", "2025-11-25T17:46:03.123456789Z",
				"procmon.lifetime", 0.0),
		},
		{
			name: "exit of an unknown process",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindExit)
				// What the monitor makes of a pid it never saw.
				ev.Process = &procmon.Process{PID: 4242, PPID: 77, Missing: 1<<procevent.NumFields - 1}
				ev.ParentPID = 77
				ev.ExitCode = 1
				return ev
			},
			wantSev:  plog.SeverityNumberWarn,
			wantText: "WARN",
			wantBody: "exit ? (pid 4242) code 1",
			// Without a start time there is no lifetime.
			wantAttrs: map[string]any{
				"process.pid":        int64(4242),
				"process.parent_pid": int64(77),
				"procmon.cpu":        int64(3),
				"process.exit.code":  int64(1),
				"process.exit.time":  "2025-11-25T17:46:03.123456789Z",
			},
		},
		{
			name: "no exe and no args",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindExec)
				ev.Process = &procmon.Process{PID: 4242, Missing: 1<<procevent.NumFields - 1}
				return ev
			},
			wantSev:  plog.SeverityNumberInfo,
			wantText: "INFO",
			wantBody: "exec ? (pid 4242)",
			wantAttrs: map[string]any{
				"process.pid":        int64(4242),
				"process.parent_pid": int64(1000),
				"procmon.cpu":        int64(3),
			},
		},
		{
			name: "only comm: the exe link was unreadable",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindExec)
				ev.Process.Exe = ""
				ev.Process.Missing = 1 << procevent.FieldExe
				return ev
			},
			wantSev:  plog.SeverityNumberInfo,
			wantText: "INFO",
			// The body and executable.name fall back to the kernel's command
			// name; there is no path to report.
			wantBody:  "exec sleep (pid 4242)",
			wantAttrs: with(sleepDetails(), "process.executable.path", nil),
		},
		{
			name: "parent pid 0",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindExec)
				ev.ParentPID = 0
				return ev
			},
			wantSev:   plog.SeverityNumberInfo,
			wantText:  "INFO",
			wantBody:  "exec /usr/bin/sleep (pid 4242)",
			wantAttrs: with(sleepDetails(), "process.parent_pid", nil),
		},
		{
			name: "ids unknown",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindExec)
				ev.Process.IDsKnown = false
				ev.Process.Missing = 1 << procevent.FieldStatus
				return ev
			},
			wantSev:  plog.SeverityNumberInfo,
			wantText: "INFO",
			wantBody: "exec /usr/bin/sleep (pid 4242)",
			wantAttrs: with(sleepDetails(),
				"process.owner", nil, "process.user.id", nil, "process.real_user.id", nil,
				"process.saved_user.id", nil, "procmon.group.id", nil, "procmon.real_group.id", nil,
				"procmon.saved_group.id", nil, "process.user.name", nil, "process.real_user.name", nil),
		},
		{
			name: "uid without a name",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindExec)
				ev.Process.UIDs = [4]uint32{5000, 5000, 5000, 5000}
				return ev
			},
			wantSev:  plog.SeverityNumberInfo,
			wantText: "INFO",
			wantBody: "exec /usr/bin/sleep (pid 4242)",
			wantAttrs: with(sleepDetails(), "process.owner", nil, "process.user.name", nil, "process.real_user.name", nil,
				"process.user.id", int64(5000), "process.real_user.id", int64(5000), "process.saved_user.id", int64(5000)),
		},
		{
			name: "stat unread",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindExec)
				ev.Process.PGID, ev.Process.SID, ev.Process.Interactive = 0, 0, false
				ev.Process.StartTicks, ev.Process.StartTime = 0, time.Time{}
				ev.Process.Missing = 1 << procevent.FieldStat
				return ev
			},
			wantSev:  plog.SeverityNumberInfo,
			wantText: "INFO",
			wantBody: "exec /usr/bin/sleep (pid 4242)",
			wantAttrs: with(sleepDetails(), "process.group_leader.pid", nil, "process.session_leader.pid", nil,
				"process.interactive", nil, "process.creation.time", nil),
		},
		{
			name: "host process: no container, no parent name, no cwd",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindExec)
				ev.Process.Cgroup = "/user.slice/user-1001.slice/session-2.scope"
				ev.Process.ContainerID, ev.Process.ParentName, ev.Process.Cwd = "", "", ""
				ev.Process.Interactive = false
				return ev
			},
			wantSev:  plog.SeverityNumberInfo,
			wantText: "INFO",
			wantBody: "exec /usr/bin/sleep (pid 4242)",
			wantAttrs: with(sleepDetails(), "procmon.parent.executable.name", nil,
				"process.working_directory", nil, "process.interactive", false,
				"process.linux.cgroup", "/user.slice/user-1001.slice/session-2.scope"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.ev()
			lr := buildOne(t, defaultBuilder(t), ev)
			require.Equal(t, tt.wantSev, lr.SeverityNumber())
			require.Equal(t, tt.wantText, lr.SeverityText())
			require.Equal(t, tt.wantBody, lr.Body().Str())
			require.Equal(t, tt.wantAttrs, lr.Attributes().AsRaw())
		})
	}
}

func TestScanRecordHasNoLifetime(t *testing.T) {
	ev := recordEvent(procevent.KindExec)
	ev.Scan = procmon.InitialScan
	ev.Time = startTime
	attrs := buildOne(t, defaultBuilder(t), ev).Attributes().AsRaw()
	require.Equal(t, true, attrs[attrInitialScan])
	require.NotContains(t, attrs, attrLifetime)
	require.NotContains(t, attrs, attrExitTime)
	require.NotContains(t, attrs, attrCPU)
}

func TestExitLifetime(t *testing.T) {
	ev := recordEvent(procevent.KindExit)
	ev.Process.StartTime = recordTime.Add(-1500 * time.Millisecond)
	attrs := buildOne(t, defaultBuilder(t), ev).Attributes().AsRaw()
	require.InDelta(t, 1.5, attrs[attrLifetime], 1e-9)
	require.Equal(t, recordTime.Format(time.RFC3339Nano), attrs[attrExitTime])
}

// uidEvent is a uid event of sleepProcess (euid 1001) to ruid/euid.
func uidEvent(ruid, euid uint32) *procmon.ProcessEvent {
	ev := recordEvent(procevent.KindUID)
	ev.Kernel = procevent.Event{Kind: procevent.KindUID, PID: 4242, TGID: 4242, RealID: ruid, EffectiveID: euid}
	return prevUIDsFromExec(ev)
}

// prevUIDsFromExec fills a uid event's previous ids as the monitor's worker
// does for a process's first change: from the ids read at its exec.
func prevUIDsFromExec(ev *procmon.ProcessEvent) *procmon.ProcessEvent {
	p := ev.Process
	ev.PrevIDs, ev.PrevKnown = [2]uint32{p.UIDs[0], p.UIDs[1]}, p.IDsKnown
	return ev
}

// identity is what every record says of sleepProcess.
func identity() map[string]any {
	return map[string]any{
		"process.pid":             int64(4242),
		"process.parent_pid":      int64(1000),
		"process.executable.name": "sleep",
		"process.executable.path": "/usr/bin/sleep",
		"procmon.cpu":             int64(3),
	}
}

func TestOtherEventRecords(t *testing.T) {
	tests := []struct {
		name      string
		ev        func() *procmon.ProcessEvent
		wantSev   plog.SeverityNumber
		wantText  string
		wantBody  string
		wantAttrs map[string]any
	}{
		{
			name: "fork",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindFork)
				// The parent comes from the event, not from the kernel's
				// fields or the process.
				ev.ParentPID = 4000
				ev.Process.PPID = 1
				ev.Kernel = procevent.Event{Kind: procevent.KindFork, PID: 4242, TGID: 4242, ParentPID: 3999, ParentTGID: 3999}
				return ev
			},
			wantSev:   plog.SeverityNumberInfo,
			wantText:  "INFO",
			wantBody:  "fork /usr/bin/sleep (pid 4242) from pid 4000",
			wantAttrs: with(identity(), "process.parent_pid", int64(4000)),
		},
		{
			name: "comm",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindComm)
				copy(ev.Kernel.Comm[:], "worker-1")
				return ev
			},
			wantSev:   plog.SeverityNumberInfo,
			wantText:  "INFO",
			wantBody:  `comm /usr/bin/sleep (pid 4242) renamed to "worker-1"`,
			wantAttrs: with(identity(), "procmon.comm", "worker-1"),
		},
		{
			name: "comm of 15 bytes",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindComm)
				copy(ev.Kernel.Comm[:], "abcdefghijklmno")
				return ev
			},
			wantSev:   plog.SeverityNumberInfo,
			wantText:  "INFO",
			wantBody:  `comm /usr/bin/sleep (pid 4242) renamed to "abcdefghijklmno"`,
			wantAttrs: with(identity(), "procmon.comm", "abcdefghijklmno"),
		},
		{
			name:     "uid to another user",
			ev:       func() *procmon.ProcessEvent { return uidEvent(1002, 1002) },
			wantSev:  plog.SeverityNumberInfo,
			wantText: "INFO",
			wantBody: "uid /usr/bin/sleep (pid 4242) now uid 1002 euid 1002",
			wantAttrs: with(identity(),
				"process.real_user.id", int64(1002), "process.user.id", int64(1002), "process.owner", "bob", "process.user.name", "bob",
				"procmon.previous.real_user.id", int64(1002), "procmon.previous.user.id", int64(1001)),
		},
		{
			name:     "uid becoming root",
			ev:       func() *procmon.ProcessEvent { return uidEvent(1002, 0) },
			wantSev:  plog.SeverityNumberWarn,
			wantText: "WARN",
			wantBody: "uid /usr/bin/sleep (pid 4242) now uid 1002 euid 0",
			wantAttrs: with(identity(),
				"process.real_user.id", int64(1002), "process.user.id", int64(0), "process.owner", "root", "process.user.name", "root",
				"procmon.previous.real_user.id", int64(1002), "procmon.previous.user.id", int64(1001)),
		},
		{
			name: "uid root staying root",
			ev: func() *procmon.ProcessEvent {
				ev := uidEvent(0, 0)
				ev.Process.UIDs = [4]uint32{1001, 0, 0, 0}
				return prevUIDsFromExec(ev)
			},
			wantSev:  plog.SeverityNumberInfo,
			wantText: "INFO",
			wantBody: "uid /usr/bin/sleep (pid 4242) now uid 0 euid 0",
			wantAttrs: with(identity(),
				"process.real_user.id", int64(0), "process.user.id", int64(0), "process.owner", "root", "process.user.name", "root",
				"procmon.previous.real_user.id", int64(1001), "procmon.previous.user.id", int64(0)),
		},
		{
			name: "uid root dropping privileges",
			ev: func() *procmon.ProcessEvent {
				ev := uidEvent(65534, 65534)
				ev.Process.UIDs = [4]uint32{}
				return prevUIDsFromExec(ev)
			},
			wantSev:  plog.SeverityNumberInfo,
			wantText: "INFO",
			wantBody: "uid /usr/bin/sleep (pid 4242) now uid 65534 euid 65534",
			wantAttrs: with(identity(),
				"process.real_user.id", int64(65534), "process.user.id", int64(65534), "process.owner", "nobody", "process.user.name", "nobody",
				"procmon.previous.real_user.id", int64(0), "procmon.previous.user.id", int64(0)),
		},
		{
			name: "uid of a process whose ids were unknown, to an unnamed user",
			ev: func() *procmon.ProcessEvent {
				ev := uidEvent(5000, 5000)
				ev.Process.IDsKnown = false
				return prevUIDsFromExec(ev)
			},
			wantSev:  plog.SeverityNumberInfo,
			wantText: "INFO",
			wantBody: "uid /usr/bin/sleep (pid 4242) now uid 5000 euid 5000",
			wantAttrs: with(identity(),
				"process.real_user.id", int64(5000), "process.user.id", int64(5000)),
		},
		{
			name: "gid",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindGID)
				ev.Kernel = procevent.Event{Kind: procevent.KindGID, PID: 4242, TGID: 4242, RealID: 3000, EffectiveID: 3001}
				ev.PrevIDs, ev.PrevKnown = [2]uint32{ev.Process.GIDs[0], ev.Process.GIDs[1]}, true
				return ev
			},
			wantSev:  plog.SeverityNumberInfo,
			wantText: "INFO",
			wantBody: "gid /usr/bin/sleep (pid 4242) now gid 3000 egid 3001",
			wantAttrs: with(identity(),
				"procmon.real_group.id", int64(3000), "procmon.group.id", int64(3001),
				"procmon.previous.real_group.id", int64(2002), "procmon.previous.group.id", int64(2001)),
		},
		{
			name: "sid",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindSID)
				ev.Kernel = procevent.Event{Kind: procevent.KindSID, PID: 4242, TGID: 4242}
				return ev
			},
			wantSev:   plog.SeverityNumberInfo,
			wantText:  "INFO",
			wantBody:  "sid /usr/bin/sleep (pid 4242) leads a new session",
			wantAttrs: with(identity(), "process.session_leader.pid", int64(4242)),
		},
		{
			name: "ptrace attach",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindPtrace)
				ev.Kernel = procevent.Event{Kind: procevent.KindPtrace, PID: 4242, TGID: 4242, TracerPID: 5001, TracerTGID: 5000}
				return ev
			},
			wantSev:   plog.SeverityNumberInfo,
			wantText:  "INFO",
			wantBody:  "ptrace /usr/bin/sleep (pid 4242) attached by pid 5000",
			wantAttrs: with(identity(), "procmon.tracer.pid", int64(5000)),
		},
		{
			name: "ptrace detach",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindPtrace)
				ev.Kernel = procevent.Event{Kind: procevent.KindPtrace, PID: 4242, TGID: 4242}
				return ev
			},
			wantSev:   plog.SeverityNumberInfo,
			wantText:  "INFO",
			wantBody:  "ptrace /usr/bin/sleep (pid 4242) detached",
			wantAttrs: with(identity(), "procmon.tracer.pid", int64(0)),
		},
		{
			name: "coredump",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindCoredump)
				ev.Kernel = procevent.Event{Kind: procevent.KindCoredump, PID: 4242, TGID: 4242, ParentPID: 1000, ParentTGID: 1000}
				return ev
			},
			wantSev:   plog.SeverityNumberError,
			wantText:  "ERROR",
			wantBody:  "coredump /usr/bin/sleep (pid 4242)",
			wantAttrs: identity(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := buildOne(t, defaultBuilder(t), tt.ev())
			require.Equal(t, tt.wantSev, lr.SeverityNumber())
			require.Equal(t, tt.wantText, lr.SeverityText())
			require.Equal(t, tt.wantBody, lr.Body().Str())
			require.Equal(t, tt.wantAttrs, lr.Attributes().AsRaw())
		})
	}
}

func TestEventNameOfEveryKind(t *testing.T) {
	for _, k := range procevent.Kinds() {
		t.Run(k.String(), func(t *testing.T) {
			lr := buildOne(t, defaultBuilder(t), recordEvent(k))
			require.Equal(t, "procmon."+k.String(), lr.EventName())
			require.NotEmpty(t, lr.Body().Str())
			require.True(t, strings.HasPrefix(lr.Body().Str(), k.String()+" "), lr.Body().Str())
		})
	}
}

func TestAppendRecordAppends(t *testing.T) {
	b := defaultBuilder(t)
	rs := plog.NewLogRecordSlice()
	b.appendRecord(rs, recordEvent(procevent.KindExec))
	b.appendRecord(rs, recordEvent(procevent.KindFork))
	b.appendRecord(rs, recordEvent(procevent.KindExit))

	// The batcher relies on records being added, never overwritten.
	require.Equal(t, 3, rs.Len())
	require.Equal(t, "procmon.exec", rs.At(0).EventName())
	require.Equal(t, "procmon.fork", rs.At(1).EventName())
	require.Equal(t, "procmon.exit", rs.At(2).EventName())
}

func TestAppendRecordLeavesTheProcessAlone(t *testing.T) {
	// The Process is shared with the monitor and the other subscribers.
	ev := recordEvent(procevent.KindExec)
	ev.Process.Args = []string{"mysql", "--password=hunter2", strings.Repeat("x", 100)}
	want := *ev.Process
	want.Args = append([]string(nil), ev.Process.Args...)
	buildOne(t, newTestBuilder(t, redact.ModeRedacted, 32), ev)
	require.Equal(t, &want, ev.Process)
}

// logsWith wraps records into a plog.Logs as the batcher does.
func logsWith(b *recordBuilder, evs ...*procmon.ProcessEvent) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("host.name", "node-1")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	for _, ev := range evs {
		b.appendRecord(sl.LogRecords(), ev)
	}
	return ld
}

// requireNowhere fails unless ld, serialised whole (resource, scope, every
// record's body and attributes), is free of secret.
func requireNowhere(t *testing.T, ld plog.Logs, secret string) {
	t.Helper()
	raw, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	require.NoError(t, err)
	require.NotEmpty(t, raw)
	require.Greater(t, ld.LogRecordCount(), 0)
	require.False(t, strings.Contains(string(raw), secret), "%q leaked: %s", secret, raw)
}

// requireSomewhere fails unless ld, serialised whole, holds s: it shows that
// requireNowhere would see it.
func requireSomewhere(t *testing.T, ld plog.Logs, s string) {
	t.Helper()
	raw, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	require.NoError(t, err)
	require.True(t, strings.Contains(string(raw), s), "%q is missing: %s", s, raw)
}

// TestHunter2NeverLeavesTheReceiver builds every kind of record for processes
// whose command lines carry the password hunter2 in the shapes the default
// rules know, and checks that it appears nowhere in what would be exported.
func TestHunter2NeverLeavesTheReceiver(t *testing.T) {
	commandLines := map[string][]string{
		"flag=value":               {"mysql", "--password=hunter2", "-h", "db"},
		"flag then value":          {"mysql", "--password", "hunter2", "-h", "db"},
		"variable":                 {"env", "PGPASSWORD=hunter2", "psql"},
		"url":                      {"psql", "postgres://app:hunter2@db:5432/app"},
		"header":                   {"curl", "-H", "Authorization: Bearer hunter2", "https://api.test/"},
		"curl user":                {"curl", "-u", "alice:hunter2", "https://api.test/"},
		"shell command":            {"sh", "-c", "export API_TOKEN=hunter2; run"},
		"json":                     {"app", `{"password": "hunter2"}`},
		"one rewritten argument":   {"mysql --password=hunter2 -h db"},
		"argv[0] holds the secret": {"--password=hunter2"},
		"extra pattern":            {"app", "X-Secret=hunter2"},
		"long line cut after it":   {"mysql", "--password=hunter2", strings.Repeat("y", 5000)},
	}
	for name, args := range commandLines {
		t.Run(name, func(t *testing.T) {
			var evs []*procmon.ProcessEvent
			for _, k := range procevent.Kinds() {
				ev := recordEvent(k)
				ev.Process.Args = args
				evs = append(evs, ev)
			}
			scan := recordEvent(procevent.KindExec)
			scan.Scan = procmon.InitialScan
			scan.Process.Args = args
			evs = append(evs, scan)

			b := newTestBuilder(t, redact.ModeRedacted, 4096, `(?i)x-secret=(?P<secret>\S+)`)
			ld := logsWith(b, evs...)
			requireNowhere(t, ld, "hunter2")
			requireSomewhere(t, ld, "***")

			// The same records in mode full do carry it: the check above
			// looks where the secret would be.
			full := logsWith(newTestBuilder(t, redact.ModeFull, 4096), evs...)
			requireSomewhere(t, full, "hunter2")
		})
	}
}

func TestCommandLineModes(t *testing.T) {
	args := []string{"mysql", "--password=hunter2", "-h", "db"}
	tests := []struct {
		name      string
		mode      redact.Mode
		args      []string
		wantAttrs map[string]any
	}{
		{
			name: "redacted",
			mode: redact.ModeRedacted,
			args: args,
			wantAttrs: map[string]any{
				"process.command":      "mysql",
				"process.command_args": []any{"mysql", "--password=***", "-h", "db"},
				"process.args_count":   int64(4),
				"procmon.redacted":     true,
			},
		},
		{
			name: "redacted in argv[0]",
			mode: redact.ModeRedacted,
			args: []string{"mysql --password=hunter2 -h db"},
			wantAttrs: map[string]any{
				"process.command":      "mysql --password=*** -h db",
				"process.command_args": []any{"mysql --password=*** -h db"},
				"process.args_count":   int64(1),
				"procmon.redacted":     true,
			},
		},
		{
			name: "redacted with nothing to hide",
			mode: redact.ModeRedacted,
			args: []string{"ls", "-l"},
			wantAttrs: map[string]any{
				"process.command":      "ls",
				"process.command_args": []any{"ls", "-l"},
				"process.args_count":   int64(2),
			},
		},
		{
			name: "full",
			mode: redact.ModeFull,
			args: args,
			wantAttrs: map[string]any{
				"process.command":      "mysql",
				"process.command_args": []any{"mysql", "--password=hunter2", "-h", "db"},
				"process.args_count":   int64(4),
			},
		},
		{
			name: "none",
			mode: redact.ModeNone,
			args: args,
			wantAttrs: map[string]any{
				"process.args_count": int64(4),
			},
		},
		{
			name:      "no arguments at all",
			mode:      redact.ModeRedacted,
			args:      nil,
			wantAttrs: map[string]any{},
		},
	}
	keys := []string{attrCommand, attrCommandArgs, attrArgsCount, attrRedacted, attrTruncated}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []procevent.Kind{procevent.KindExec, procevent.KindExit} {
				ev := recordEvent(k)
				ev.Process.Args = tt.args
				lr := buildOne(t, newTestBuilder(t, tt.mode, 4096), ev)
				got := map[string]any{}
				for _, key := range keys {
					if v, ok := lr.Attributes().Get(key); ok {
						got[key] = v.AsRaw()
					}
				}
				require.Equal(t, tt.wantAttrs, got, k.String())
			}
		})
	}
}

func TestCommandLineModeNoneHasNoArguments(t *testing.T) {
	ev := recordEvent(procevent.KindExec)
	ev.Process.Args = []string{"mysql", "--password=hunter2"}
	ld := logsWith(newTestBuilder(t, redact.ModeNone, 4096), ev)
	requireNowhere(t, ld, "hunter2")
	requireNowhere(t, ld, "--password")
}

// argsBytes is the total length of a command_args value.
func argsBytes(t *testing.T, v pcommon.Value) (n int, list []string) {
	t.Helper()
	require.Equal(t, pcommon.ValueTypeSlice, v.Type())
	for _, a := range v.Slice().All() {
		require.Equal(t, pcommon.ValueTypeStr, a.Type())
		n += len(a.Str())
		list = append(list, a.Str())
	}
	return n, list
}

func TestTruncation(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		maxLen int
	}{
		{"one long argument", []string{"prog", strings.Repeat("a", 10000)}, 4096},
		{"multi-byte runes across the cut", []string{"prog", strings.Repeat("é", 5000)}, 4096},
		{"four-byte runes, odd limit", []string{"prog", strings.Repeat("😀", 2500)}, 4097},
		{"long argv[0]", []string{strings.Repeat("b", 10000), "x"}, 4096},
		{"many short arguments", func() []string {
			a := []string{"prog"}
			for range 2000 {
				a = append(a, "argument")
			}
			return a
		}(), 4096},
		{"smallest limit", []string{"prog", "0123456789abcdef", "ghi"}, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, mode := range []redact.Mode{redact.ModeRedacted, redact.ModeFull} {
				ev := recordEvent(procevent.KindExec)
				ev.Process.Args = tt.args
				lr := buildOne(t, newTestBuilder(t, mode, tt.maxLen), ev)
				attrs := lr.Attributes()

				cmd, ok := attrs.Get(attrCommand)
				require.True(t, ok)
				require.LessOrEqual(t, len(cmd.Str()), tt.maxLen)
				require.True(t, utf8.ValidString(cmd.Str()))

				args, ok := attrs.Get(attrCommandArgs)
				require.True(t, ok)
				total, list := argsBytes(t, args)
				require.LessOrEqual(t, total, tt.maxLen)
				// Cut on a rune boundary, as close to the limit as a rune allows.
				require.Greater(t, total, tt.maxLen-utf8.UTFMax)
				for i, a := range list {
					require.True(t, utf8.ValidString(a))
					require.True(t, strings.HasPrefix(tt.args[i], a), "argument %d", i)
				}

				truncated, ok := attrs.Get(attrTruncated)
				require.True(t, ok, "procmon.truncated must be set")
				require.True(t, truncated.Bool())
				// The count is the process's, not what is left after the cut.
				count, ok := attrs.Get(attrArgsCount)
				require.True(t, ok)
				require.Equal(t, int64(len(tt.args)), count.Int())
			}
		})
	}
}

func TestNoTruncationAtTheLimit(t *testing.T) {
	// "prog" and 12 bytes are exactly 16 bytes: nothing is cut.
	ev := recordEvent(procevent.KindExec)
	ev.Process.Args = []string{"prog", "0123456789ab"}
	attrs := buildOne(t, newTestBuilder(t, redact.ModeFull, 16), ev).Attributes().AsRaw()
	require.Equal(t, []any{"prog", "0123456789ab"}, attrs[attrCommandArgs])
	require.NotContains(t, attrs, attrTruncated)
}

func TestSourceCutIsFlagged(t *testing.T) {
	// The source captured the arguments in part: nothing here is cut again,
	// but the record must say the value is incomplete.
	ev := recordEvent(procevent.KindExec)
	ev.Process.Args = []string{"prog", "0123"}
	ev.Process.Cut = 1 << procevent.FieldCmdline
	attrs := buildOne(t, newTestBuilder(t, redact.ModeFull, 4096), ev).Attributes().AsRaw()
	require.Equal(t, []any{"prog", "0123"}, attrs[attrCommandArgs])
	require.Equal(t, true, attrs[attrTruncated])
}

// requireValidUTF8 walks every string in v.
func requireValidUTF8(t *testing.T, where string, v any) {
	t.Helper()
	switch x := v.(type) {
	case string:
		require.True(t, utf8.ValidString(x), "%s: %q is not UTF-8", where, x)
	case []any:
		for _, e := range x {
			requireValidUTF8(t, where, e)
		}
	case map[string]any:
		for k, e := range x {
			require.True(t, utf8.ValidString(k), "%s: key %q", where, k)
			requireValidUTF8(t, where+"."+k, e)
		}
	}
}

func TestInvalidUTF8BecomesReplacementCharacters(t *testing.T) {
	tests := []struct {
		name      string
		ev        func() *procmon.ProcessEvent
		wantAttrs map[string]any
		wantBody  string
	}{
		{
			name: "exe, args, cwd, cgroup and parent name",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindExec)
				p := ev.Process
				p.Exe = "/usr/bin/\xffbad"
				p.Comm = "\xfebad"
				p.Args = []string{"\xffbad", "a\xc3", "--password=\xff"}
				p.Cwd = "/tmp/\xff"
				p.Cgroup = "/\xff.slice"
				p.ParentName = "ba\xffsh"
				return ev
			},
			wantBody: "exec /usr/bin/\uFFFDbad (pid 4242)",
			wantAttrs: map[string]any{
				attrExecutableName:   "\uFFFDbad",
				attrExecutablePath:   "/usr/bin/\uFFFDbad",
				attrCommand:          "\uFFFDbad",
				attrCommandArgs:      []any{"\uFFFDbad", "a\uFFFD", "--password=***"},
				attrWorkingDirectory: "/tmp/\uFFFD",
				attrCgroup:           "/\uFFFD.slice",
				attrParentExecName:   "ba\uFFFDsh",
			},
		},
		{
			name: "only comm",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindExit)
				ev.Process.Exe = ""
				ev.Process.Comm = "sl\xffeep"
				return ev
			},
			wantBody: "exit sl\uFFFDeep (pid 4242) code 0",
			wantAttrs: map[string]any{
				attrExecutableName: "sl\uFFFDeep",
			},
		},
		{
			name: "comm event",
			ev: func() *procmon.ProcessEvent {
				ev := recordEvent(procevent.KindComm)
				copy(ev.Kernel.Comm[:], "new\xffname")
				return ev
			},
			wantBody: `comm /usr/bin/sleep (pid 4242) renamed to "new` + "\uFFFD" + `name"`,
			wantAttrs: map[string]any{
				attrNewComm: "new\uFFFDname",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := buildOne(t, defaultBuilder(t), tt.ev())
			require.Equal(t, tt.wantBody, lr.Body().Str())
			attrs := lr.Attributes().AsRaw()
			for k, v := range tt.wantAttrs {
				require.Equal(t, v, attrs[k], k)
			}
			requireValidUTF8(t, "body", lr.Body().Str())
			requireValidUTF8(t, "attributes", attrs)
		})
	}
}

func TestOnlyCommNamesTheExecutable(t *testing.T) {
	for _, k := range []procevent.Kind{procevent.KindExec, procevent.KindExit, procevent.KindFork} {
		t.Run(k.String(), func(t *testing.T) {
			ev := recordEvent(k)
			ev.Process.Exe = ""
			ev.Process.Comm = "kworker/0:1"
			attrs := buildOne(t, defaultBuilder(t), ev).Attributes().AsRaw()
			require.Equal(t, "kworker/0:1", attrs[attrExecutableName])
			require.NotContains(t, attrs, attrExecutablePath)
		})
	}
}

func TestBound(t *testing.T) {
	tests := []struct {
		s       string
		n       int
		want    string
		wantCut bool
	}{
		{"abc", 3, "abc", false},
		{"abcd", 3, "abc", true},
		{"", 0, "", false},
		{"é", 1, "", true},
		{"aé", 2, "a", true},
		{"aé", 3, "aé", false},
		{"a\xff", 2, "a", true}, // U+FFFD takes 3 bytes
		{"a\xff", 4, "a\uFFFD", false},
	}
	for _, tt := range tests {
		got, cut := bound(tt.s, tt.n)
		require.Equal(t, tt.want, got, "bound(%q, %d)", tt.s, tt.n)
		require.Equal(t, tt.wantCut, cut, "bound(%q, %d)", tt.s, tt.n)
	}
}

func TestSignalName(t *testing.T) {
	tests := []struct {
		sig  int32
		want string
	}{
		{1, "SIGHUP"},
		{9, "SIGKILL"},
		{11, "SIGSEGV"},
		{15, "SIGTERM"},
		{31, "SIGSYS"},
		{34, "SIGRTMIN+0"},
		{35, "SIGRTMIN+1"},
		{64, "SIGRTMIN+30"},
		{0, "signal 0"},
		{32, "signal 32"},
		{65, "signal 65"},
		{99, "signal 99"},
		{-1, "signal -1"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			require.Equal(t, tt.want, signalName(tt.sig))
		})
	}
}
