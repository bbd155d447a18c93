package procmonreceiver

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	conventions "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/internal/procmon"
	"github.com/procmon-otel/procmon/internal/redact"
)

// Attribute keys: the semantic conventions' where they define one (their
// Go constants), procmon.* where they don't. metadata.yaml declares each with
// the events that carry it.
var (
	attrPID              = string(conventions.ProcessPIDKey)
	attrParentPID        = string(conventions.ProcessParentPIDKey)
	attrExecutableName   = string(conventions.ProcessExecutableNameKey)
	attrExecutablePath   = string(conventions.ProcessExecutablePathKey)
	attrCommand          = string(conventions.ProcessCommandKey)
	attrCommandArgs      = string(conventions.ProcessCommandArgsKey)
	attrArgsCount        = string(conventions.ProcessArgsCountKey)
	attrWorkingDirectory = string(conventions.ProcessWorkingDirectoryKey)
	attrOwner            = string(conventions.ProcessOwnerKey)
	attrUserID           = string(conventions.ProcessUserIDKey)
	attrUserName         = string(conventions.ProcessUserNameKey)
	attrRealUserID       = string(conventions.ProcessRealUserIDKey)
	attrRealUserName     = string(conventions.ProcessRealUserNameKey)
	attrSavedUserID      = string(conventions.ProcessSavedUserIDKey)
	attrSavedUserName    = string(conventions.ProcessSavedUserNameKey)
	attrGroupLeaderPID   = string(conventions.ProcessGroupLeaderPIDKey)
	attrSessionLeaderPID = string(conventions.ProcessSessionLeaderPIDKey)
	attrCreationTime     = string(conventions.ProcessCreationTimeKey)
	attrInteractive      = string(conventions.ProcessInteractiveKey)
	attrCgroup           = string(conventions.ProcessLinuxCgroupKey)
	attrExitCode         = string(conventions.ProcessExitCodeKey)
	attrExitTime         = string(conventions.ProcessExitTimeKey)
	attrContainerID      = string(conventions.ContainerIDKey)
)

// procmon's own attribute keys, where the semantic conventions define none.
const (
	attrGroupID         = "procmon.group.id"
	attrRealGroupID     = "procmon.real_group.id"
	attrSavedGroupID    = "procmon.saved_group.id"
	attrParentExecName  = "procmon.parent.executable.name"
	attrExitSignal      = "procmon.exit.signal"
	attrCoreDumped      = "procmon.exit.core_dumped"
	attrLifetime        = "procmon.lifetime"
	attrInitialScan     = "procmon.initial_scan"
	attrRescan          = "procmon.rescan"
	attrCPU             = "procmon.cpu"
	attrTruncated       = "procmon.truncated"
	attrRedacted        = "procmon.redacted"
	attrNewComm         = "procmon.comm"
	attrPrevUserID      = "procmon.previous.user.id"
	attrPrevRealUserID  = "procmon.previous.real_user.id"
	attrPrevGroupID     = "procmon.previous.group.id"
	attrPrevRealGroupID = "procmon.previous.real_group.id"
	attrTracerPID       = "procmon.tracer.pid"
)

// eventName is the EventName of a record of kind k: procmon.exec,
// procmon.exit and so on (the semantic conventions define no process events).
func eventName(k procevent.Kind) string { return "procmon." + k.String() }

// userNamer names a user id; empty when unknown.
type userNamer interface {
	Name(uid uint32) string
}

// recordBuilder turns monitor events into log records. It is safe for
// concurrent use.
type recordBuilder struct {
	mode     redact.Mode
	redactor *redact.Redactor
	users    userNamer
	maxLen   int
}

// appendRecord fills a new record of rs from ev.
func (b *recordBuilder) appendRecord(rs plog.LogRecordSlice, ev *procmon.ProcessEvent) {
	lr := rs.AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(ev.Time))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(ev.Observed))
	lr.SetEventName(eventName(ev.Kind))
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	lr.SetSeverityText("INFO")
	p := ev.Process
	attrs := lr.Attributes()
	attrs.EnsureCapacity(32)
	b.putIdentity(attrs, ev)
	switch ev.Scan {
	case procmon.InitialScan:
		attrs.PutBool(attrInitialScan, true)
	case procmon.Rescan:
		attrs.PutBool(attrRescan, true)
	default:
		attrs.PutInt(attrCPU, int64(ev.CPU))
	}

	name := displayName(p)
	switch ev.Kind {
	case procevent.KindExec:
		b.putDetails(attrs, p)
		lr.Body().SetStr(fmt.Sprintf("exec %s (pid %d)", name, p.PID))
	case procevent.KindExit:
		b.putDetails(attrs, p)
		b.exit(lr, ev, name)
	default:
		b.other(lr, ev, name)
	}
}

// putIdentity adds what every record says of its process.
func (b *recordBuilder) putIdentity(attrs pcommon.Map, ev *procmon.ProcessEvent) {
	p := ev.Process
	attrs.PutInt(attrPID, int64(p.PID))
	if ev.ParentPID > 0 {
		attrs.PutInt(attrParentPID, int64(ev.ParentPID))
	}
	if name := p.Name(); name != "" {
		attrs.PutStr(attrExecutableName, validUTF8(name))
	}
	if p.Exe != "" {
		attrs.PutStr(attrExecutablePath, validUTF8(p.Exe))
	}
}

// putDetails adds the exec-time enrichment that exec and exit records carry.
func (b *recordBuilder) putDetails(attrs pcommon.Map, p *procmon.Process) {
	b.putCommandLine(attrs, p.Args, max(p.Argc, len(p.Args)), p.Cut.Has(procevent.FieldCmdline))
	if p.Cwd != "" {
		attrs.PutStr(attrWorkingDirectory, validUTF8(p.Cwd))
	}
	if p.IDsKnown {
		b.putUser(attrs, p.UIDs[1], attrUserID, attrUserName)
		b.putUser(attrs, p.UIDs[0], attrRealUserID, attrRealUserName)
		b.putUser(attrs, p.UIDs[2], attrSavedUserID, attrSavedUserName)
		attrs.PutInt(attrRealGroupID, int64(p.GIDs[0]))
		attrs.PutInt(attrGroupID, int64(p.GIDs[1]))
		attrs.PutInt(attrSavedGroupID, int64(p.GIDs[2]))
	}
	if p.Has(procevent.FieldStat) {
		attrs.PutInt(attrGroupLeaderPID, int64(p.PGID))
		attrs.PutInt(attrSessionLeaderPID, int64(p.SID))
		attrs.PutBool(attrInteractive, p.Interactive)
	}
	if !p.StartTime.IsZero() {
		attrs.PutStr(attrCreationTime, p.StartTime.UTC().Format(time.RFC3339Nano))
	}
	if p.ParentName != "" {
		attrs.PutStr(attrParentExecName, validUTF8(p.ParentName))
	}
	if p.Cgroup != "" {
		attrs.PutStr(attrCgroup, validUTF8(p.Cgroup))
	}
}

// putUser adds a user id under idKey and its name, when the host's
// etc/passwd has one, under nameKey; the effective user's also as
// process.owner.
func (b *recordBuilder) putUser(attrs pcommon.Map, uid uint32, idKey, nameKey string) {
	attrs.PutInt(idKey, int64(uid))
	if name := b.users.Name(uid); name != "" {
		attrs.PutStr(nameKey, name)
		if idKey == attrUserID {
			attrs.PutStr(attrOwner, name)
		}
	}
}

// putCommandLine adds argv[0] and the arguments, redacted as configured and
// bounded in length. The semantic conventions advise against assembling
// process.command_line from the arguments, so it is not set.
func (b *recordBuilder) putCommandLine(attrs pcommon.Map, args []string, argc int, cut bool) {
	if len(args) == 0 {
		return
	}
	attrs.PutInt(attrArgsCount, int64(argc))
	if b.mode == redact.ModeNone {
		return
	}
	if b.mode == redact.ModeRedacted {
		var redacted bool
		if args, redacted = b.redactor.Args(args); redacted {
			attrs.PutBool(attrRedacted, true)
		}
	}
	cmd, cut0 := bound(args[0], b.maxLen)
	attrs.PutStr(attrCommand, cmd)
	list := attrs.PutEmptySlice(attrCommandArgs)
	list.EnsureCapacity(len(args))
	left, cut2 := b.maxLen, false
	for _, a := range args {
		if left <= 0 {
			cut2 = true
			break
		}
		s, cut := bound(a, left)
		list.AppendEmpty().SetStr(s)
		left -= len(s)
		cut2 = cut2 || cut
	}
	if cut || cut0 || cut2 {
		attrs.PutBool(attrTruncated, true)
	}
}

// exit adds what only an exit record says and sets its severity.
func (b *recordBuilder) exit(lr plog.LogRecord, ev *procmon.ProcessEvent, name string) {
	attrs := lr.Attributes()
	p := ev.Process
	attrs.PutStr(attrExitTime, ev.Time.UTC().Format(time.RFC3339Nano))
	if !p.StartTime.IsZero() && ev.Scan == procmon.Live {
		attrs.PutDouble(attrLifetime, max(ev.Time.Sub(p.StartTime).Seconds(), 0))
	}
	var body string
	switch {
	case ev.Signal != 0:
		sig := signalName(ev.Signal)
		attrs.PutStr(attrExitSignal, sig)
		lr.SetSeverityNumber(plog.SeverityNumberWarn)
		lr.SetSeverityText("WARN")
		body = fmt.Sprintf("exit %s (pid %d) killed by %s", name, p.PID, sig)
		if ev.CoreDumped {
			attrs.PutBool(attrCoreDumped, true)
			lr.SetSeverityNumber(plog.SeverityNumberError)
			lr.SetSeverityText("ERROR")
			body += " (core dumped)"
		}
	default:
		attrs.PutInt(attrExitCode, int64(ev.ExitCode))
		if ev.ExitCode != 0 {
			lr.SetSeverityNumber(plog.SeverityNumberWarn)
			lr.SetSeverityText("WARN")
		}
		body = fmt.Sprintf("exit %s (pid %d) code %d", name, p.PID, ev.ExitCode)
	}
	lr.Body().SetStr(body)
}

// other describes a fork, comm, uid, gid, sid, ptrace or coredump event.
func (b *recordBuilder) other(lr plog.LogRecord, ev *procmon.ProcessEvent, name string) {
	attrs := lr.Attributes()
	p, k := ev.Process, &ev.Kernel
	var body string
	switch ev.Kind {
	case procevent.KindFork:
		body = fmt.Sprintf("fork %s (pid %d) from pid %d", name, p.PID, ev.ParentPID)
	case procevent.KindComm:
		comm := validUTF8(strings.TrimRight(string(k.Comm[:]), "\x00"))
		attrs.PutStr(attrNewComm, comm)
		body = fmt.Sprintf("comm %s (pid %d) renamed to %q", name, p.PID, comm)
	case procevent.KindUID:
		attrs.PutInt(attrRealUserID, int64(k.RealID))
		b.putUser(attrs, k.EffectiveID, attrUserID, attrUserName)
		if ev.PrevKnown {
			attrs.PutInt(attrPrevRealUserID, int64(ev.PrevIDs[0]))
			attrs.PutInt(attrPrevUserID, int64(ev.PrevIDs[1]))
		}
		body = fmt.Sprintf("uid %s (pid %d) now uid %d euid %d", name, p.PID, k.RealID, k.EffectiveID)
		if k.EffectiveID == 0 && (!ev.PrevKnown || ev.PrevIDs[1] != 0) {
			lr.SetSeverityNumber(plog.SeverityNumberWarn) // became root
			lr.SetSeverityText("WARN")
		}
	case procevent.KindGID:
		attrs.PutInt(attrRealGroupID, int64(k.RealID))
		attrs.PutInt(attrGroupID, int64(k.EffectiveID))
		if ev.PrevKnown {
			attrs.PutInt(attrPrevRealGroupID, int64(ev.PrevIDs[0]))
			attrs.PutInt(attrPrevGroupID, int64(ev.PrevIDs[1]))
		}
		body = fmt.Sprintf("gid %s (pid %d) now gid %d egid %d", name, p.PID, k.RealID, k.EffectiveID)
	case procevent.KindSID:
		attrs.PutInt(attrSessionLeaderPID, int64(k.TGID))
		body = fmt.Sprintf("sid %s (pid %d) leads a new session", name, p.PID)
	case procevent.KindPtrace:
		attrs.PutInt(attrTracerPID, int64(k.TracerTGID))
		if k.TracerTGID == 0 {
			body = fmt.Sprintf("ptrace %s (pid %d) detached", name, p.PID)
		} else {
			body = fmt.Sprintf("ptrace %s (pid %d) attached by pid %d", name, p.PID, k.TracerTGID)
		}
	case procevent.KindCoredump:
		lr.SetSeverityNumber(plog.SeverityNumberError)
		lr.SetSeverityText("ERROR")
		body = fmt.Sprintf("coredump %s (pid %d)", name, p.PID)
	}
	lr.Body().SetStr(body)
}

// displayName is the best short name of a process for a record's body.
func displayName(p *procmon.Process) string {
	switch {
	case p.Exe != "":
		return validUTF8(p.Exe)
	case p.Comm != "":
		return validUTF8(p.Comm)
	}
	return "?"
}

// validUTF8 replaces what is not UTF-8 (a process may put any bytes in its
// name or arguments) by U+FFFD.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// bound returns s as valid UTF-8 of at most n bytes, cut on a rune boundary,
// and whether it was cut.
func bound(s string, n int) (string, bool) {
	s = validUTF8(s)
	if len(s) <= n {
		return s, false
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut], true
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
