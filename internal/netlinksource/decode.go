package netlinksource

import (
	"encoding/binary"
	"errors"

	"github.com/procmon-otel/procmon/internal/procevent"
)

// Wire constants of the proc connector (linux/connector.h, linux/cn_proc.h).
const (
	cnIdxProc = 1
	cnValProc = 1

	nlmsgHdrLen  = 16
	cnMsgLen     = 20
	procEvHdrLen = 16 // what, cpu, timestamp_ns

	// opIgnore is PROC_CN_MCAST_IGNORE. The nl package's constant of that
	// name is 1, the kernel's LISTEN, so procmon keeps its own.
	opIgnore = 2

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
	// isAck marks the kernel's answer to a subscription (PROC_EVENT_NONE),
	// ours or another listener's; it is no process event, and ackErr is its
	// errno.
	isAck  bool
	ackErr uint32
}

// Decoding failures. Each is counted as a malformed message and skipped.
var (
	errTruncated = errors.New("truncated proc connector message")
	errNotProc   = errors.New("connector message not from the proc connector")
	errUnknown   = errors.New("unknown proc event type")
)

// decode decodes one netlink message (header included) into ev, reusing it.
// It never allocates and never panics on short or odd input.
func decode(b []byte, ev *procevent.Event) (header, error) {
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

	*ev = procevent.Event{}
	what := ne.Uint32(b[0:4])
	ev.CPU = ne.Uint32(b[4:8])
	ev.Timestamp = ne.Uint64(b[8:16])
	d := b[procEvHdrLen:]

	var need int
	switch what {
	case evNone:
		need = 4
	case evFork:
		ev.Kind, need = procevent.KindFork, 16
	case evExec:
		ev.Kind, need = procevent.KindExec, 8
	case evUID:
		ev.Kind, need = procevent.KindUID, 16
	case evGID:
		ev.Kind, need = procevent.KindGID, 16
	case evSID:
		ev.Kind, need = procevent.KindSID, 8
	case evPtrace:
		ev.Kind, need = procevent.KindPtrace, 16
	case evComm:
		ev.Kind, need = procevent.KindComm, 24
	case evCoredump:
		ev.Kind, need = procevent.KindCoredump, 16
	case evExit, evNonzeroExt:
		// Kernels before 4.18 send no parent in the exit event.
		ev.Kind, need = procevent.KindExit, 16
	default:
		return h, errUnknown
	}
	if len(d) < need {
		return h, errTruncated
	}
	i32 := func(off int) int32 { return int32(ne.Uint32(d[off : off+4])) }

	if what == evNone {
		h.isAck, h.ackErr = true, ne.Uint32(d[0:4])
		return h, nil
	}
	switch ev.Kind {
	case procevent.KindFork:
		ev.ParentPID, ev.ParentTGID = i32(0), i32(4)
		ev.PID, ev.TGID = i32(8), i32(12)
	case procevent.KindUID, procevent.KindGID:
		ev.PID, ev.TGID = i32(0), i32(4)
		ev.RealID, ev.EffectiveID = ne.Uint32(d[8:12]), ne.Uint32(d[12:16])
	case procevent.KindPtrace:
		ev.PID, ev.TGID = i32(0), i32(4)
		ev.TracerPID, ev.TracerTGID = i32(8), i32(12)
	case procevent.KindComm:
		ev.PID, ev.TGID = i32(0), i32(4)
		copy(ev.Comm[:], d[8:24])
	case procevent.KindCoredump:
		ev.PID, ev.TGID = i32(0), i32(4)
		ev.ParentPID, ev.ParentTGID = i32(8), i32(12)
	case procevent.KindExit:
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
