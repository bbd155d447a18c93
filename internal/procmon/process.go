package procmon

import (
	"path"
	"time"

	"github.com/procmon-otel/procmon/internal/procevent"
)

// ScanKind tells a live event from one made up by scanning /proc.
type ScanKind uint8

// Where a ProcessEvent came from.
const (
	Live        ScanKind = iota // a kernel event
	InitialScan                 // found running when the monitor started
	Rescan                      // found running after the source was restarted
)

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
	// Argc is how many arguments the process has: more than len(Args) when
	// its source captured them in part (Cut has FieldCmdline).
	Argc int
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
	// Missing is the set of fields that could not be read.
	Missing procevent.Fields
	// Cut is the set of fields that hold only a prefix of their value: the
	// source captured them in part and /proc could not complete them.
	Cut procevent.Fields

	lossEpoch uint64 // the table's loss epoch when the entry was made
	lateRead  bool   // the worker has tried the late fields
	// cgroupAtExec is set when the source brought the cgroup whole: it was
	// set before the entry was stored, and no worker writes it.
	cgroupAtExec bool
	// The real and effective user and group ids after the latest uid or gid
	// event, kept by the worker; valid when set.
	curUIDs, curGIDs       [2]uint32
	curUIDsSet, curGIDsSet bool
}

// Has reports whether field f is known.
func (p *Process) Has(f procevent.Field) bool { return !p.Missing.Has(f) }

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
	Kind procevent.Kind
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
	Kernel procevent.Event
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
