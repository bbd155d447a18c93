package netlinksource

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procmon-otel/procmon/internal/procevent"
)

// message builds a proc connector message as the kernel sends it: nlmsghdr,
// cn_msg, proc_event header, then data.
func message(what, cpu, seq uint32, ts uint64, data ...uint32) []byte {
	dataLen := procEvHdrLen + 4*len(data)
	b := make([]byte, nlmsgHdrLen+cnMsgLen+dataLen)
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], nlmsgDone)
	c := b[nlmsgHdrLen:]
	ne.PutUint32(c[0:], cnIdxProc)
	ne.PutUint32(c[4:], cnValProc)
	ne.PutUint32(c[8:], seq)
	ne.PutUint16(c[16:], uint16(dataLen))
	p := c[cnMsgLen:]
	ne.PutUint32(p[0:], what)
	ne.PutUint32(p[4:], cpu)
	ne.PutUint64(p[8:], ts)
	for i, v := range data {
		ne.PutUint32(p[procEvHdrLen+4*i:], v)
	}
	return b
}

func TestDecodeEveryKind(t *testing.T) {
	comm := []uint32{0x6c6c6568, 0x6f, 0, 0} // "hello"
	tests := []struct {
		name string
		msg  []byte
		want procevent.Event
	}{
		{"fork", message(evFork, 1, 5, 99, 10, 10, 11, 11),
			procevent.Event{Kind: procevent.KindFork, CPU: 1, Timestamp: 99, ParentPID: 10, ParentTGID: 10, PID: 11, TGID: 11}},
		{"exec", message(evExec, 0, 6, 100, 12, 12),
			procevent.Event{Kind: procevent.KindExec, Timestamp: 100, PID: 12, TGID: 12}},
		{"exit", message(evExit, 1, 7, 101, 13, 13, 0x0100, 17, 1, 1),
			procevent.Event{Kind: procevent.KindExit, CPU: 1, Timestamp: 101, PID: 13, TGID: 13, ExitStatus: 0x100, ExitSignal: 17, ParentPID: 1, ParentTGID: 1}},
		{"exit without parent", message(evExit, 1, 7, 101, 13, 13, 9, 17),
			procevent.Event{Kind: procevent.KindExit, CPU: 1, Timestamp: 101, PID: 13, TGID: 13, ExitStatus: 9, ExitSignal: 17}},
		{"nonzero exit", message(evNonzeroExt, 1, 7, 101, 13, 13, 0x0200, 17, 1, 1),
			procevent.Event{Kind: procevent.KindExit, CPU: 1, Timestamp: 101, PID: 13, TGID: 13, ExitStatus: 0x200, ExitSignal: 17, ParentPID: 1, ParentTGID: 1}},
		{"uid", message(evUID, 0, 8, 102, 14, 14, 1000, 0),
			procevent.Event{Kind: procevent.KindUID, Timestamp: 102, PID: 14, TGID: 14, RealID: 1000}},
		{"gid", message(evGID, 0, 8, 102, 14, 14, 100, 101),
			procevent.Event{Kind: procevent.KindGID, Timestamp: 102, PID: 14, TGID: 14, RealID: 100, EffectiveID: 101}},
		{"sid", message(evSID, 0, 9, 103, 15, 15),
			procevent.Event{Kind: procevent.KindSID, Timestamp: 103, PID: 15, TGID: 15}},
		{"ptrace", message(evPtrace, 0, 9, 103, 16, 16, 20, 20),
			procevent.Event{Kind: procevent.KindPtrace, Timestamp: 103, PID: 16, TGID: 16, TracerPID: 20, TracerTGID: 20}},
		{"comm", message(evComm, 0, 9, 103, append([]uint32{17, 18}, comm...)...),
			procevent.Event{Kind: procevent.KindComm, Timestamp: 103, PID: 17, TGID: 18, Comm: [16]byte{'h', 'e', 'l', 'l', 'o'}}},
		{"coredump", message(evCoredump, 0, 9, 103, 19, 19, 1, 1),
			procevent.Event{Kind: procevent.KindCoredump, Timestamp: 103, PID: 19, TGID: 19, ParentPID: 1, ParentTGID: 1}},
		{"ack", message(evNone, 0xffffffff, 42, 1, 0),
			procevent.Event{CPU: 0xffffffff, Timestamp: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev procevent.Event
			ev.Comm[3] = 'x' // decode must reset what the last event left
			_, err := decode(tt.msg, &ev)
			require.NoError(t, err)
			require.Equal(t, tt.want, ev)
		})
	}
}

func TestDecodeHeader(t *testing.T) {
	msg := message(evNone, 0xffffffff, 42, 1, 1)
	ne.PutUint32(msg[nlmsgHdrLen+12:], 7)
	var ev procevent.Event
	h, err := decode(msg, &ev)
	require.NoError(t, err)
	require.Equal(t, header{seq: 42, ack: 7, isAck: true, ackErr: 1}, h)
	require.Zero(t, ev.Kind, "an acknowledgement is no process event")
}

func TestDecodeRejects(t *testing.T) {
	good := message(evExit, 1, 7, 101, 13, 13, 0, 17, 1, 1)
	notProc := append([]byte(nil), good...)
	ne.PutUint32(notProc[nlmsgHdrLen:], 2)
	unknown := message(0x1234, 0, 1, 1, 1, 1)
	badLen := append([]byte(nil), good...)
	ne.PutUint16(badLen[nlmsgHdrLen+16:], 200)
	bigNl := append([]byte(nil), good...)
	ne.PutUint32(bigNl[0:], 1000)
	shortExec := message(evExec, 0, 1, 1, 5)
	for name, tc := range map[string]struct {
		msg  []byte
		want error
	}{
		"empty":             {nil, errTruncated},
		"header only":       {good[:nlmsgHdrLen+cnMsgLen], errTruncated},
		"cut in data":       {good[:len(good)-4], errTruncated},
		"data beyond nlmsg": {badLen, errTruncated},
		"nlmsg beyond buf":  {bigNl, errTruncated},
		"other connector":   {notProc, errNotProc},
		"unknown type":      {unknown, errUnknown},
		"short exec":        {shortExec, errTruncated},
	} {
		t.Run(name, func(t *testing.T) {
			var ev procevent.Event
			_, err := decode(tc.msg, &ev)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestDecodeAllocatesNothing(t *testing.T) {
	msg := message(evExit, 1, 7, 101, 13, 13, 0, 17, 1, 1)
	var ev procevent.Event
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = decode(msg, &ev)
	})
	require.Zero(t, allocs)
}

func TestSeqTracker(t *testing.T) {
	var tr seqTracker
	require.Zero(t, tr.observe(0, 100), "the first number on a CPU is the baseline")
	require.Zero(t, tr.observe(0, 101))
	require.Equal(t, uint64(3), tr.observe(0, 105))
	require.Zero(t, tr.observe(3, 7), "each CPU has its own sequence")
	require.Equal(t, uint64(1), tr.observe(3, 9))
	require.Zero(t, tr.observe(0, 106))
	require.Zero(t, tr.observe(0, 50), "going back resynchronises")
	require.Zero(t, tr.observe(0, 51))
	require.Zero(t, tr.observe(0xffffffff, 1), "an out-of-range CPU is ignored")

	tr = seqTracker{}
	tr.observe(1, 0xfffffffe)
	require.Equal(t, uint64(1), tr.observe(1, 0), "the counter wraps")
}
