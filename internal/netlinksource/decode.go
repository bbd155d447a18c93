package netlinksource

import (
	"encoding/binary"
	"errors"

	"github.com/procmon-otel/procmon/internal/procmon"
)

// Wire constants of the proc connector (linux/connector.h, linux/cn_proc.h).
const (
	cnIdxProc = 1
	cnValProc = 1

	nlmsgHdrLen  = 16
	cnMsgLen     = 20
	procEvHdrLen = 16 // what, cpu, timestamp_ns

	opListen = 1 // PROC_CN_MCAST_LISTEN
	opIgnore = 2 // PROC_CN_MCAST_IGNORE

	nlmsgDone  = 3 // NLMSG_DONE: the type every connector message carries
	nlmsgError = 2
)

// The values of proc_event.what.
const (
	evNone       = 0x00000000
	evFork       = 0x00000001
	evExec       = 0x00000002
	evUID        = 0x00000004
	evGID        = 0x00000040
	evSID        = 0x00000080
	evPtrace     = 0x00000100
	evComm       = 0x00000200
	evNonzeroExt = 0x20000000
	evCoredump   = 0x40000000
	evExit       = 0x80000000
)

var ne = binary.NativeEndian

// header is what decode learns of a message besides its event.
type header struct {
	seq uint32 // per-CPU sequence number, or the request's for an ack
	ack uint32
}

// Decoding failures. Each is counted as a malformed message and skipped.
var (
	errTruncated = errors.New("truncated proc connector message")
	errNotProc   = errors.New("connector message not from the proc connector")
	errUnknown   = errors.New("unknown proc event type")
)

// decode decodes one netlink message (header included) into ev, reusing it.
// It never allocates and never panics on short or odd input.
func decode(b []byte, ev *procmon.Event) (header, error) {
	if len(b) < nlmsgHdrLen+cnMsgLen+procEvHdrLen {
		return header{}, errTruncated
	}
	nlLen := ne.Uint32(b[0:4])
	if nlLen < nlmsgHdrLen+cnMsgLen+procEvHdrLen || uint64(nlLen) > uint64(len(b)) {
		return header{}, errTruncated
	}
	b = b[nlmsgHdrLen:nlLen]
	if ne.Uint32(b[0:4]) != cnIdxProc || ne.Uint32(b[4:8]) != cnValProc {
		return header{}, errNotProc
	}
	h := header{seq: ne.Uint32(b[8:12]), ack: ne.Uint32(b[12:16])}
	dataLen := int(ne.Uint16(b[16:18]))
	b = b[cnMsgLen:]
	if dataLen > len(b) || dataLen < procEvHdrLen {
		return h, errTruncated
	}
	b = b[:dataLen]

	*ev = procmon.Event{}
	what := ne.Uint32(b[0:4])
	ev.CPU = ne.Uint32(b[4:8])
	ev.Timestamp = ne.Uint64(b[8:16])
	d := b[procEvHdrLen:]

	var need int
	switch what {
	case evNone:
		ev.Kind, need = procmon.KindNone, 4
	case evFork:
		ev.Kind, need = procmon.KindFork, 16
	case evExec:
		ev.Kind, need = procmon.KindExec, 8
	case evUID:
		ev.Kind, need = procmon.KindUID, 16
	case evGID:
		ev.Kind, need = procmon.KindGID, 16
	case evSID:
		ev.Kind, need = procmon.KindSID, 8
	case evPtrace:
		ev.Kind, need = procmon.KindPtrace, 16
	case evComm:
		ev.Kind, need = procmon.KindComm, 24
	case evCoredump:
		ev.Kind, need = procmon.KindCoredump, 16
	case evExit, evNonzeroExt:
		// Kernels before 4.18 send no parent in the exit event.
		ev.Kind, need = procmon.KindExit, 16
	default:
		return h, errUnknown
	}
	if len(d) < need {
		return h, errTruncated
	}
	i32 := func(off int) int32 { return int32(ne.Uint32(d[off : off+4])) }

	switch ev.Kind {
	case procmon.KindNone:
		ev.AckErr = ne.Uint32(d[0:4])
	case procmon.KindFork:
		ev.ParentPID, ev.ParentTGID = i32(0), i32(4)
		ev.PID, ev.TGID = i32(8), i32(12)
	case procmon.KindUID, procmon.KindGID:
		ev.PID, ev.TGID = i32(0), i32(4)
		ev.RealID, ev.EffectiveID = ne.Uint32(d[8:12]), ne.Uint32(d[12:16])
	case procmon.KindPtrace:
		ev.PID, ev.TGID = i32(0), i32(4)
		ev.TracerPID, ev.TracerTGID = i32(8), i32(12)
	case procmon.KindComm:
		ev.PID, ev.TGID = i32(0), i32(4)
		copy(ev.Comm[:], d[8:24])
	case procmon.KindCoredump:
		ev.PID, ev.TGID = i32(0), i32(4)
		ev.ParentPID, ev.ParentTGID = i32(8), i32(12)
	case procmon.KindExit:
		ev.PID, ev.TGID = i32(0), i32(4)
		ev.ExitStatus, ev.ExitSignal = ne.Uint32(d[8:12]), ne.Uint32(d[12:16])
		if len(d) >= 24 {
			ev.ParentPID, ev.ParentTGID = i32(16), i32(20)
		}
	default: // exec, sid
		ev.PID, ev.TGID = i32(0), i32(4)
	}
	return h, nil
}

// seqTracker keeps the last sequence number seen on each CPU. The kernel
// numbers proc events per CPU before it filters them per socket, so a jump
// counts exactly the events this monitor missed. It outlives each socket, so
// the events missed while a socket was being replaced are counted too.
type seqTracker struct {
	last []uint32
	seen []bool
}

// observe records seq for cpu and returns how many events were skipped.
func (t *seqTracker) observe(cpu, seq uint32) uint64 {
	if cpu >= 1<<16 {
		return 0 // not a real CPU number; never index with it
	}
	if int(cpu) >= len(t.last) {
		n := int(cpu) + 1
		t.last = append(t.last, make([]uint32, n-len(t.last))...)
		t.seen = append(t.seen, make([]bool, n-len(t.seen))...)
	}
	prev, seen := t.last[cpu], t.seen[cpu]
	t.last[cpu], t.seen[cpu] = seq, true
	if !seen {
		return 0
	}
	gap := seq - prev - 1 // wraps correctly at 2^32
	if gap >= 1<<31 {
		// Behind the last number: the counter was reset or the message
		// reordered; start again from here rather than count a huge loss.
		return 0
	}
	return uint64(gap)
}
