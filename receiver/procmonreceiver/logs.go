package procmonreceiver

import (
	"fmt"
	"path"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/procmon-otel/procmon/internal/procmon"
)

// Event names of the records.
const (
	eventNameExec = "process.exec"
	eventNameExit = "process.exit"
)

// Attribute keys: the semantic conventions' where one exists.
const (
	attrPID            = "process.pid"
	attrParentPID      = "process.parent_pid"
	attrExecutableName = "process.executable.name"
	attrExecutablePath = "process.executable.path"
	attrCommandLine    = "process.command_line"
	attrExitCode       = "process.exit.code"
	attrExitSignal     = "procmon.exit.signal"
	attrCoreDumped     = "procmon.exit.core_dumped"
	attrInitialScan    = "procmon.initial_scan"
	attrRescan         = "procmon.rescan"
	attrCPU            = "procmon.cpu"
)

// appendRecord fills a new record of rs from ev.
func appendRecord(rs plog.LogRecordSlice, ev *procmon.ProcessEvent) {
	lr := rs.AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(ev.Time))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(ev.Observed))
	p := &ev.Process
	attrs := lr.Attributes()
	attrs.EnsureCapacity(9)
	attrs.PutInt(attrPID, int64(p.PID))
	if p.PPID > 0 {
		attrs.PutInt(attrParentPID, int64(p.PPID))
	}
	if p.Exe != "" {
		attrs.PutStr(attrExecutableName, path.Base(p.Exe))
		attrs.PutStr(attrExecutablePath, p.Exe)
	}
	if len(p.Args) > 0 {
		attrs.PutStr(attrCommandLine, strings.Join(p.Args, " "))
	}
	switch ev.Scan {
	case procmon.InitialScan:
		attrs.PutBool(attrInitialScan, true)
	case procmon.Rescan:
		attrs.PutBool(attrRescan, true)
	default:
		attrs.PutInt(attrCPU, int64(ev.CPU))
	}

	name := displayName(p)
	if ev.Kind == procmon.KindExec {
		lr.SetEventName(eventNameExec)
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
		lr.Body().SetStr(fmt.Sprintf("exec %s (pid %d)", name, p.PID))
		return
	}
	lr.SetEventName(eventNameExit)
	sev, text := plog.SeverityNumberInfo, "INFO"
	var body string
	switch {
	case ev.Signal != 0:
		sig := signalName(ev.Signal)
		attrs.PutStr(attrExitSignal, sig)
		sev, text = plog.SeverityNumberWarn, "WARN"
		body = fmt.Sprintf("exit %s (pid %d) killed by %s", name, p.PID, sig)
		if ev.CoreDumped {
			attrs.PutBool(attrCoreDumped, true)
			sev, text = plog.SeverityNumberError, "ERROR"
			body += " (core dumped)"
		}
	default:
		attrs.PutInt(attrExitCode, int64(ev.ExitCode))
		if ev.ExitCode != 0 {
			sev, text = plog.SeverityNumberWarn, "WARN"
		}
		body = fmt.Sprintf("exit %s (pid %d) code %d", name, p.PID, ev.ExitCode)
	}
	lr.SetSeverityNumber(sev)
	lr.SetSeverityText(text)
	lr.Body().SetStr(body)
}

// displayName is the best short name of a process for a record's body.
func displayName(p *procmon.Process) string {
	switch {
	case p.Exe != "":
		return p.Exe
	case len(p.Args) > 0:
		return p.Args[0]
	}
	return "?"
}

// linuxSignals names Linux's signals by number (the kernel's numbering, which
// is what exit statuses carry, whatever the collector was built for).
var linuxSignals = [...]string{
	1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
	8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
	14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP",
	20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ",
	26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS",
}

// signalName returns SIGxxx, or SIGRTMIN+n for real-time signals.
func signalName(sig int32) string {
	switch {
	case sig > 0 && int(sig) < len(linuxSignals):
		return linuxSignals[sig]
	case sig >= 34 && sig <= 64:
		return fmt.Sprintf("SIGRTMIN+%d", sig-34)
	}
	return fmt.Sprintf("signal %d", sig)
}
