package procevent

// Event is one kernel process event as a Source decodes it. Fields that the
// kind does not carry are zero. A Sink may only use an Event, and the bytes
// its Content points to, during the call it was handed in.
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
	// GroupDead is set on an exit that ended the whole thread group, by a
	// source that knows it: its ExitStatus is what the parent's wait sees.
	// Without it the exit is one task's, and the monitor tells a process's
	// end by counting its threads.
	GroupDead bool
	// RealID and EffectiveID are the new user or group ids (uid, gid).
	RealID, EffectiveID uint32
	// TracerPID and TracerTGID name the tracer (ptrace; zero on detach).
	TracerPID, TracerTGID int32
	// Comm is the new command name (comm), NUL-padded.
	Comm [16]byte
	// Content is what the source captured of the process (for fork, the
	// child) when the event happened; the monitor reads from /proc only the
	// fields it does not have.
	Content Content
}

// Content is what a source captured of a process at its event. Have says
// which fields it holds; the others are zero.
type Content struct {
	// Have is the set of fields the content holds.
	Have Fields
	// Cut is the set of fields that hold only a prefix of the value,
	// because it was too long or too deep to capture whole.
	Cut Fields
	// Exe and Cwd are paths as readlink of /proc/<pid>/exe and cwd shows
	// them ("(deleted)" included) (FieldExe, FieldCwd).
	Exe, Cwd []byte
	// Args holds Argc NUL-terminated arguments, as /proc/<pid>/cmdline does
	// (FieldCmdline); when cut, the last one may lack its NUL.
	Args []byte
	Argc int
	// PPID, PGID and SID are the parent, process group and session
	// (FieldStat), StartBoottime the start on CLOCK_BOOTTIME in ns, TTY
	// whether it has a controlling terminal, Comm its command name.
	PPID, PGID, SID int32
	StartBoottime   uint64
	TTY             bool
	Comm            [16]byte
	// UIDs and GIDs are the real, effective, saved and filesystem ids
	// (FieldStatus).
	UIDs, GIDs [4]uint32
	// Cgroup is the cgroup path as procfs.ParseCgroup picks it, and CgroupID
	// the cgroup v2 id, 0 when unknown (FieldCgroup).
	Cgroup   []byte
	CgroupID uint64
}
