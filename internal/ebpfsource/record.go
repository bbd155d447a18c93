package ebpfsource

import (
	"encoding/binary"
	"errors"

	"github.com/procmon-otel/procmon/internal/procevent"
)

// The layout of the records in bpf/record.h. TestRecordLayout checks these
// offsets against the types bpf2go generates from it.
const (
	recordExec = 1
	recordExit = 2
	recordFork = 3

	// struct header
	offKind  = 0
	offCPU   = 4
	offKtime = 8

	// struct task, at offTask
	offTask       = 16
	offPID        = offTask + 0
	offTGID       = offTask + 4
	offPPID       = offTask + 8
	offParentPID  = offTask + 12
	offPGID       = offTask + 16
	offSID        = offTask + 20
	offTaskFlags  = offTask + 24
	offStartBoot  = offTask + 32
	offComm       = offTask + 40
	taskEnd       = offTask + 56
	forkRecordLen = taskEnd

	// struct exit_record
	offStatus     = taskEnd
	exitRecordLen = taskEnd + 8

	// struct exec_record
	offUID        = taskEnd
	offGID        = taskEnd + 16
	offCgroupID   = taskEnd + 32
	offArgc       = taskEnd + 40
	offExecFlags  = taskEnd + 44
	offExeLen     = taskEnd + 48
	offCwdLen     = taskEnd + 50
	offCgroupLen  = taskEnd + 52
	offArgsLen    = taskEnd + 56
	execRecordLen = taskEnd + 64
)

// task.flags
const taskTTY = 1 << 0

// exec_record.flags
const (
	execExeCut = 1 << iota
	execCwdCut
	execCgroupCut
	execArgsCut
	execExeDeleted
	execCwdDeleted
	execNoExe
	execNoCwd
	execNoCgroup
	execNoArgs
)

// deleted is what the kernel shows after the path of an unlinked file.
const deleted = " (deleted)"

// argsCap is ARGS_CAP of bpf/procmon.bpf.c: the most argument bytes a record
// carries.
const argsCap = 32768

var ne = binary.NativeEndian

// Decoding failures; each is counted as a malformed record and skipped.
var (
	errShort   = errors.New("eBPF record shorter than its kind's")
	errUnknown = errors.New("eBPF record of an unknown kind")
	errLengths = errors.New("eBPF exec record's lengths exceed the record")
)

// decoder turns ring buffer records into events. It keeps the memory of the
// paths it must append " (deleted)" to, so that decoding never allocates.
type decoder struct {
	exe, cwd []byte
}

// decode decodes one record into ev, reusing it. ev's content points into b
// and the decoder's memory, valid until the next decode.
func (d *decoder) decode(b []byte, ev *procevent.Event) error {
	if len(b) < offTask {
		return errShort
	}
	*ev = procevent.Event{
		CPU:       ne.Uint32(b[offCPU:]),
		Timestamp: ne.Uint64(b[offKtime:]),
	}
	switch ne.Uint32(b[offKind:]) {
	case recordExec:
		if len(b) < execRecordLen {
			return errShort
		}
		ev.Kind = procevent.KindExec
		decodeTask(b, ev)
		return d.decodeExec(b, ev)
	case recordExit:
		if len(b) < exitRecordLen {
			return errShort
		}
		ev.Kind = procevent.KindExit
		decodeTask(b, ev)
		ev.ExitStatus = ne.Uint32(b[offStatus:])
		ev.GroupDead = true
	case recordFork:
		if len(b) < forkRecordLen {
			return errShort
		}
		ev.Kind = procevent.KindFork
		decodeTask(b, ev)
	default:
		return errUnknown
	}
	return nil
}

// decodeTask decodes the struct task every record has: the process's ids and
// what /proc/<pid>/stat would say of it.
func decodeTask(b []byte, ev *procevent.Event) {
	i32 := func(off int) int32 { return int32(ne.Uint32(b[off:])) }
	ev.PID, ev.TGID = i32(offPID), i32(offTGID)
	ev.ParentPID, ev.ParentTGID = i32(offParentPID), i32(offPPID)
	c := &ev.Content
	c.Have = c.Have.With(procevent.FieldStat)
	c.PPID, c.PGID, c.SID = i32(offPPID), i32(offPGID), i32(offSID)
	c.TTY = ne.Uint32(b[offTaskFlags:])&taskTTY != 0
	c.StartBoottime = ne.Uint64(b[offStartBoot:])
	copy(c.Comm[:], b[offComm:offComm+16])
}

// decodeExec decodes what only an exec record has: ids, cgroup, and the
// paths and arguments that follow it.
func (d *decoder) decodeExec(b []byte, ev *procevent.Event) error {
	c := &ev.Content
	for i := range 4 {
		c.UIDs[i] = ne.Uint32(b[offUID+4*i:])
		c.GIDs[i] = ne.Uint32(b[offGID+4*i:])
	}
	c.Have = c.Have.With(procevent.FieldStatus)
	c.CgroupID = ne.Uint64(b[offCgroupID:])
	flags := ne.Uint32(b[offExecFlags:])
	exeLen, cwdLen := int(ne.Uint16(b[offExeLen:])), int(ne.Uint16(b[offCwdLen:]))
	cgLen, argsLen := int(ne.Uint16(b[offCgroupLen:])), int(ne.Uint32(b[offArgsLen:]))
	data := b[execRecordLen:]
	if exeLen+cwdLen+cgLen+argsLen > len(data) {
		return errLengths
	}
	exe, data := data[:exeLen], data[exeLen:]
	cwd, data := data[:cwdLen], data[cwdLen:]
	cg, args := data[:cgLen], data[cgLen:cgLen+argsLen]

	part := func(f procevent.Field, missing, cut uint32) bool {
		if flags&missing != 0 {
			return false
		}
		c.Have = c.Have.With(f)
		if flags&cut != 0 {
			c.Cut = c.Cut.With(f)
		}
		return true
	}
	if part(procevent.FieldExe, execNoExe, execExeCut) {
		c.Exe = exe
		if flags&execExeDeleted != 0 {
			d.exe = append(append(d.exe[:0], exe...), deleted...)
			c.Exe = d.exe
		}
	}
	if part(procevent.FieldCwd, execNoCwd, execCwdCut) {
		c.Cwd = cwd
		if flags&execCwdDeleted != 0 {
			d.cwd = append(append(d.cwd[:0], cwd...), deleted...)
			c.Cwd = d.cwd
		}
	}
	if part(procevent.FieldCgroup, execNoCgroup, execCgroupCut) {
		c.Cgroup = cg
	}
	if part(procevent.FieldCmdline, execNoArgs, execArgsCut) {
		c.Args, c.Argc = args, int(ne.Uint32(b[offArgc:]))
	}
	return nil
}
