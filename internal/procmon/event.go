package procmon

import (
	"errors"
	"path"
	"time"
)

// Kind is the type of a kernel process event.
type Kind uint8

// The kinds of events the kernel's proc connector sends.
const (
	KindNone Kind = iota
	KindFork
	KindExec
	KindExit
	KindUID
	KindGID
	KindSID
	KindPtrace
	KindComm
	KindCoredump
	// NumKinds is the number of kinds; not a kind itself.
	NumKinds
)

var kindNames = [NumKinds]string{"none", "fork", "exec", "exit", "uid", "gid", "sid", "ptrace", "comm", "coredump"}

// String returns the kind's lower-case name, as used in configuration and
// metric attributes.
func (k Kind) String() string {
	if k < NumKinds {
		return kindNames[k]
	}
	return "unknown"
}

// Kinds returns every kind a Source may report, in order.
func Kinds() []Kind {
	ks := make([]Kind, 0, NumKinds)
	for k := KindNone; k < NumKinds; k++ {
		ks = append(ks, k)
	}
	return ks
}

// Event is one kernel process event as a Source decodes it. Fields that the
// kind does not carry are zero.
type Event struct {
	Kind Kind
	// CPU is the processor that emitted the event.
	CPU uint32
	// Timestamp is the kernel's CLOCK_MONOTONIC time of the event, in ns.
	Timestamp uint64
	// PID and TGID name the task the event is about (for fork, the child).
	// A process is a task whose PID equals its TGID.
	PID, TGID int32
	// ParentPID and ParentTGID: the parent (fork, exit, coredump).
	ParentPID, ParentTGID int32
	// ExitStatus is the raw wait status of an exit: code<<8 | core<<7 | signal.
	ExitStatus uint32
	// ExitSignal is the signal the parent is sent on exit (usually SIGCHLD).
	ExitSignal uint32
	// RealID and EffectiveID are the new user or group ids (uid, gid).
	RealID, EffectiveID uint32
	// TracerPID and TracerTGID name the tracer (ptrace; zero on detach).
	TracerPID, TracerTGID int32
	// Comm is the new command name (comm), NUL-padded.
	Comm [16]byte
	// AckErr is the errno of a subscription acknowledgement (none).
	AckErr uint32
}

// Sink receives what a Source reads. Its methods are called from the
// goroutine that calls Source.Receive.
type Sink interface {
	// Event is called for each decoded event. ev is only valid during the call.
	Event(ev *Event)
	// Lost reports n events that the kernel sent but the source never got.
	Lost(n uint64)
	// Malformed reports a message that could not be decoded and was skipped.
	Malformed()
}

// Source is where process events come from: the netlink proc connector, later
// an eBPF ring buffer, a fake in tests.
type Source interface {
	// Receive blocks until at least one message arrives, then hands every
	// event it read to s. An error means the source needs attention: ErrOverrun
	// can be carried on from; any other error ends the source.
	Receive(s Sink) error
	// Close releases the source and unblocks a blocked Receive. It is safe to
	// call more than once.
	Close() error
}

// Opener opens a new Source, subscribed and ready to Receive.
type Opener func() (Source, error)

// ErrOverrun reports that the kernel dropped events because the source's
// buffer was full. The source is still usable; the loss is reported by Lost.
var ErrOverrun = errors.New("the kernel dropped events: receive buffer overrun")

// ScanKind tells a live event from one made up by scanning /proc.
type ScanKind uint8

// Where a ProcessEvent came from.
const (
	Live        ScanKind = iota // a kernel event
	InitialScan                 // found running when the monitor started
	Rescan                      // found running after the source was restarted
)

// Field names a part of a process's /proc entry that enrichment reads.
type Field uint8

// The fields, in the order they are read: what a process about to exit takes
// with it first comes first.
const (
	FieldExe Field = iota
	FieldStat
	FieldStatus
	FieldCmdline
	FieldCwd
	FieldCgroup
	// NumFields is the number of fields; not a field itself.
	NumFields
)

var fieldNames = [NumFields]string{"exe", "stat", "status", "cmdline", "cwd", "cgroup"}

// String returns the field's name, as used in the misses metric.
func (f Field) String() string {
	if f < NumFields {
		return fieldNames[f]
	}
	return "unknown"
}

// Process is what the monitor knows of a process. The main loop fills it at
// exec, fork or scan; the process's worker fills the late fields (Cwd,
// Cgroup, ContainerID) before the exec callbacks run. Subscribers must treat
// it as read-only.
type Process struct {
	PID  int32
	PPID int32
	// StartTicks is the start time in clock ticks since boot; with PID it
	// identifies the process across pid reuse. Zero when unknown.
	StartTicks uint64
	// StartTime is StartTicks on the wall clock; zero when unknown.
	StartTime time.Time
	// Exe is the executable's path; empty when it could not be read.
	Exe string
	// Comm is the kernel's command name (at most 15 bytes): what a process
	// that is already gone still shows.
	Comm string
	// Args is the command line; nil when it could not be read.
	Args []string
	// PGID and SID are the process group and session: their leaders' pids.
	PGID, SID int32
	// Interactive is set when the process has a controlling terminal.
	Interactive bool
	// UIDs and GIDs are the real, effective, saved and filesystem ids;
	// valid when IDsKnown.
	UIDs, GIDs [4]uint32
	IDsKnown   bool
	// ParentName is the parent's executable name when the parent is known.
	ParentName string
	// Cwd, Cgroup and ContainerID are read by the worker; ContainerID is
	// empty for a process of the host.
	Cwd, Cgroup, ContainerID string
	// Missing has bit 1<<f set for each Field that could not be read.
	Missing uint8

	lossEpoch uint64 // the table's loss epoch when the entry was made
	lateRead  bool   // the worker has tried the late fields
	// The real and effective user and group ids after the latest uid or gid
	// event, kept by the worker; valid when set.
	curUIDs, curGIDs       [2]uint32
	curUIDsSet, curGIDsSet bool
}

// Has reports whether field f was read.
func (p *Process) Has(f Field) bool { return p.Missing&(1<<f) == 0 }

// Name is the best short name of the process: the executable's base name,
// else the command name.
func (p *Process) Name() string {
	if p.Exe != "" {
		return path.Base(p.Exe)
	}
	return p.Comm
}

// ProcessEvent is what subscribers receive.
type ProcessEvent struct {
	Kind Kind
	Scan ScanKind
	// Time is when it happened, on the wall clock: the kernel's event time, or
	// for a scanned process its start time.
	Time time.Time
	// Observed is when the monitor read the event.
	Observed time.Time
	CPU      uint32
	// Process is the process the event is about (for fork, the child). It is
	// shared with the monitor and must not be modified.
	Process *Process
	// ParentPID is the best parent pid known for the event: the process's,
	// or for an exit of a process whose parent was never read, the kernel's.
	ParentPID int32
	// ExitCode is the exit status of a normal exit; Signal the signal that
	// ended the process, if one did, and CoreDumped whether it dumped core.
	ExitCode   int32
	Signal     int32
	CoreDumped bool
	// Kernel is the kernel's event (live events only): for comm, uid, gid,
	// sid and ptrace events, what changed.
	Kernel Event
	// PrevIDs are, for a uid or gid event, the real and effective ids before
	// the change, when PrevKnown: from the process's previous change, else
	// from its exec.
	PrevIDs   [2]uint32
	PrevKnown bool
}

// decodeExitStatus splits a raw wait status into code, signal and core flag.
func decodeExitStatus(status uint32) (code, signal int32, core bool) {
	if sig := status & 0x7f; sig != 0 {
		return 0, int32(sig), status&0x80 != 0
	}
	return int32(status>>8) & 0xff, 0, false
}
