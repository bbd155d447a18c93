package procmonreceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/procmon-otel/procmon/internal/procmon"
)

// recordTime has nanoseconds so that a lost sub-second part would show.
var recordTime = time.Date(2025, time.November, 25, 17, 46, 3, 123456789, time.UTC)

// sleepProcess is a typical process with every field known.
func sleepProcess() procmon.Process {
	return procmon.Process{
		PID:        4242,
		PPID:       1,
		StartTicks: 987654,
		Exe:        "/usr/bin/sleep",
		Args:       []string{"sleep", "10", "--verbose"},
	}
}

// recordEvent is a live event of kind k for sleepProcess, read 3ms after it happened.
func recordEvent(k procmon.Kind) procmon.ProcessEvent {
	return procmon.ProcessEvent{
		Kind:     k,
		Scan:     procmon.Live,
		Time:     recordTime,
		Observed: recordTime.Add(3 * time.Millisecond),
		CPU:      3,
		Process:  sleepProcess(),
	}
}

func TestAppendRecord(t *testing.T) {
	tests := []struct {
		name      string
		ev        func() procmon.ProcessEvent
		wantEvent string
		wantSev   plog.SeverityNumber
		wantText  string
		wantBody  string
		wantAttrs map[string]any
	}{
		{
			name:      "live exec",
			ev:        func() procmon.ProcessEvent { return recordEvent(procmon.KindExec) },
			wantEvent: "process.exec",
			wantSev:   plog.SeverityNumberInfo,
			wantText:  "INFO",
			wantBody:  "exec /usr/bin/sleep (pid 4242)",
			wantAttrs: map[string]any{
				"process.pid":             int64(4242),
				"process.parent_pid":      int64(1),
				"process.executable.name": "sleep",
				"process.executable.path": "/usr/bin/sleep",
				"process.command_line":    "sleep 10 --verbose",
				"procmon.cpu":             int64(3),
			},
		},
		{
			name: "initial scan exec",
			ev: func() procmon.ProcessEvent {
				ev := recordEvent(procmon.KindExec)
				ev.Scan = procmon.InitialScan
				return ev
			},
			wantEvent: "process.exec",
			wantSev:   plog.SeverityNumberInfo,
			wantText:  "INFO",
			wantBody:  "exec /usr/bin/sleep (pid 4242)",
			// A scan has no kernel CPU: procmon.cpu is left out even if set.
			wantAttrs: map[string]any{
				"process.pid":             int64(4242),
				"process.parent_pid":      int64(1),
				"process.executable.name": "sleep",
				"process.executable.path": "/usr/bin/sleep",
				"process.command_line":    "sleep 10 --verbose",
				"procmon.initial_scan":    true,
			},
		},
		{
			name: "rescan exec",
			ev: func() procmon.ProcessEvent {
				ev := recordEvent(procmon.KindExec)
				ev.Scan = procmon.Rescan
				return ev
			},
			wantEvent: "process.exec",
			wantSev:   plog.SeverityNumberInfo,
			wantText:  "INFO",
			wantBody:  "exec /usr/bin/sleep (pid 4242)",
			wantAttrs: map[string]any{
				"process.pid":             int64(4242),
				"process.parent_pid":      int64(1),
				"process.executable.name": "sleep",
				"process.executable.path": "/usr/bin/sleep",
				"process.command_line":    "sleep 10 --verbose",
				"procmon.rescan":          true,
			},
		},
		{
			name:      "exit code 0",
			ev:        func() procmon.ProcessEvent { return recordEvent(procmon.KindExit) },
			wantEvent: "process.exit",
			wantSev:   plog.SeverityNumberInfo,
			wantText:  "INFO",
			wantBody:  "exit /usr/bin/sleep (pid 4242) code 0",
			wantAttrs: map[string]any{
				"process.pid":             int64(4242),
				"process.parent_pid":      int64(1),
				"process.executable.name": "sleep",
				"process.executable.path": "/usr/bin/sleep",
				"process.command_line":    "sleep 10 --verbose",
				"procmon.cpu":             int64(3),
				"process.exit.code":       int64(0),
			},
		},
		{
			name: "exit code 2",
			ev: func() procmon.ProcessEvent {
				ev := recordEvent(procmon.KindExit)
				ev.ExitCode = 2
				return ev
			},
			wantEvent: "process.exit",
			wantSev:   plog.SeverityNumberWarn,
			wantText:  "WARN",
			wantBody:  "exit /usr/bin/sleep (pid 4242) code 2",
			wantAttrs: map[string]any{
				"process.pid":             int64(4242),
				"process.parent_pid":      int64(1),
				"process.executable.name": "sleep",
				"process.executable.path": "/usr/bin/sleep",
				"process.command_line":    "sleep 10 --verbose",
				"procmon.cpu":             int64(3),
				"process.exit.code":       int64(2),
			},
		},
		{
			name: "killed by SIGKILL",
			ev: func() procmon.ProcessEvent {
				ev := recordEvent(procmon.KindExit)
				ev.Signal = 9
				return ev
			},
			wantEvent: "process.exit",
			wantSev:   plog.SeverityNumberWarn,
			wantText:  "WARN",
			wantBody:  "exit /usr/bin/sleep (pid 4242) killed by SIGKILL",
			// A killed process has no exit code, so process.exit.code is absent.
			wantAttrs: map[string]any{
				"process.pid":             int64(4242),
				"process.parent_pid":      int64(1),
				"process.executable.name": "sleep",
				"process.executable.path": "/usr/bin/sleep",
				"process.command_line":    "sleep 10 --verbose",
				"procmon.cpu":             int64(3),
				"procmon.exit.signal":     "SIGKILL",
			},
		},
		{
			name: "SIGSEGV with core dump",
			ev: func() procmon.ProcessEvent {
				ev := recordEvent(procmon.KindExit)
				ev.Signal = 11
				ev.CoreDumped = true
				return ev
			},
			wantEvent: "process.exit",
			wantSev:   plog.SeverityNumberError,
			wantText:  "ERROR",
			wantBody:  "exit /usr/bin/sleep (pid 4242) killed by SIGSEGV (core dumped)",
			wantAttrs: map[string]any{
				"process.pid":              int64(4242),
				"process.parent_pid":       int64(1),
				"process.executable.name":  "sleep",
				"process.executable.path":  "/usr/bin/sleep",
				"process.command_line":     "sleep 10 --verbose",
				"procmon.cpu":              int64(3),
				"procmon.exit.signal":      "SIGSEGV",
				"procmon.exit.core_dumped": true,
			},
		},
		{
			name: "no exe and no args",
			ev: func() procmon.ProcessEvent {
				ev := recordEvent(procmon.KindExec)
				ev.Process.Exe, ev.Process.Args = "", nil
				return ev
			},
			wantEvent: "process.exec",
			wantSev:   plog.SeverityNumberInfo,
			wantText:  "INFO",
			wantBody:  "exec ? (pid 4242)",
			wantAttrs: map[string]any{
				"process.pid":        int64(4242),
				"process.parent_pid": int64(1),
				"procmon.cpu":        int64(3),
			},
		},
		{
			name: "exit of an unknown process",
			ev: func() procmon.ProcessEvent {
				ev := recordEvent(procmon.KindExit)
				ev.Process.Exe, ev.Process.Args = "", nil
				ev.ExitCode = 1
				return ev
			},
			wantEvent: "process.exit",
			wantSev:   plog.SeverityNumberWarn,
			wantText:  "WARN",
			wantBody:  "exit ? (pid 4242) code 1",
			wantAttrs: map[string]any{
				"process.pid":        int64(4242),
				"process.parent_pid": int64(1),
				"procmon.cpu":        int64(3),
				"process.exit.code":  int64(1),
			},
		},
		{
			name: "args but no exe",
			ev: func() procmon.ProcessEvent {
				ev := recordEvent(procmon.KindExec)
				ev.Process.Exe = ""
				return ev
			},
			wantEvent: "process.exec",
			wantSev:   plog.SeverityNumberInfo,
			wantText:  "INFO",
			// The body falls back to argv[0] when the exe link was unreadable.
			wantBody: "exec sleep (pid 4242)",
			wantAttrs: map[string]any{
				"process.pid":          int64(4242),
				"process.parent_pid":   int64(1),
				"process.command_line": "sleep 10 --verbose",
				"procmon.cpu":          int64(3),
			},
		},
		{
			name: "parent pid 0",
			ev: func() procmon.ProcessEvent {
				ev := recordEvent(procmon.KindExec)
				ev.Process.PPID = 0
				return ev
			},
			wantEvent: "process.exec",
			wantSev:   plog.SeverityNumberInfo,
			wantText:  "INFO",
			wantBody:  "exec /usr/bin/sleep (pid 4242)",
			wantAttrs: map[string]any{
				"process.pid":             int64(4242),
				"process.executable.name": "sleep",
				"process.executable.path": "/usr/bin/sleep",
				"process.command_line":    "sleep 10 --verbose",
				"procmon.cpu":             int64(3),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.ev()
			rs := plog.NewLogRecordSlice()
			appendRecord(rs, &ev)
			require.Equal(t, 1, rs.Len())
			lr := rs.At(0)

			require.Equal(t, tt.wantEvent, lr.EventName())
			require.Equal(t, tt.wantSev, lr.SeverityNumber())
			require.Equal(t, tt.wantText, lr.SeverityText())
			require.Equal(t, pcommon.NewTimestampFromTime(ev.Time), lr.Timestamp())
			require.Equal(t, pcommon.NewTimestampFromTime(ev.Observed), lr.ObservedTimestamp())
			require.Equal(t, pcommon.ValueTypeStr, lr.Body().Type())
			require.Equal(t, tt.wantBody, lr.Body().Str())
			require.Equal(t, tt.wantAttrs, lr.Attributes().AsRaw())
		})
	}
}

func TestAppendRecordAppends(t *testing.T) {
	exec, exit := recordEvent(procmon.KindExec), recordEvent(procmon.KindExit)
	rs := plog.NewLogRecordSlice()
	appendRecord(rs, &exec)
	appendRecord(rs, &exit)

	// The batcher relies on records being added, never overwritten.
	require.Equal(t, 2, rs.Len())
	require.Equal(t, "process.exec", rs.At(0).EventName())
	require.Equal(t, "process.exit", rs.At(1).EventName())
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
