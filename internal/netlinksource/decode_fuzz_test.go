package netlinksource

import (
	"bytes"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procmon-otel/procmon/internal/procevent"
)

// fuzzSeeds returns a well-formed message of every kind the kernel sends.
func fuzzSeeds() [][]byte {
	comm := []uint32{0x6c6c6568, 0x6f, 0, 0} // "hello"
	return [][]byte{
		message(evNone, 0xffffffff, 42, 1, 0),
		message(evFork, 1, 5, 99, 10, 10, 11, 11),
		message(evExec, 0, 6, 100, 12, 12),
		message(evUID, 0, 8, 102, 14, 14, 1000, 0),
		message(evGID, 0, 8, 102, 14, 14, 100, 101),
		message(evSID, 0, 9, 103, 15, 15),
		message(evPtrace, 0, 9, 103, 16, 16, 20, 20),
		message(evComm, 0, 9, 103, append([]uint32{17, 18}, comm...)...),
		message(evCoredump, 0, 9, 103, 19, 19, 1, 1),
		message(evExit, 1, 7, 101, 13, 13, 0x0100, 17, 1, 1),
		message(evExit, 1, 7, 101, 13, 13, 9, 17), // before 4.18: no parent
		message(evNonzeroExt, 1, 7, 101, 13, 13, 0x0200, 17, 1, 1),
	}
}

// trailers are what may follow a message in a buffer: zeros, ones, and the
// body of another proc connector message, so that a read past nlmsg_len
// finds something that decodes.
func trailers() [][]byte {
	next := message(evExec, 3, 77, 5, 4242, 4242)
	return [][]byte{
		make([]byte, 64),
		bytes.Repeat([]byte{0xff}, 64),
		next[nlmsgHdrLen:],
	}
}

func FuzzDecode(f *testing.F) {
	for _, msg := range fuzzSeeds() {
		f.Add(msg)
		// Cut in each header and in the data.
		for _, n := range []int{0, 1, nlmsgHdrLen, nlmsgHdrLen + cnMsgLen, nlmsgHdrLen + cnMsgLen + procEvHdrLen, len(msg) - 4, len(msg) - 1} {
			if n >= 0 && n < len(msg) {
				f.Add(slices.Clone(msg[:n]))
			}
		}
		// Lengths that say the data is shorter than the buffer holds.
		short := slices.Clone(msg)
		ne.PutUint16(short[nlmsgHdrLen+16:], procEvHdrLen)
		f.Add(short)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev procevent.Event
		if _, err := decode(b, &ev); err == nil {
			require.Less(t, ev.Kind, procevent.NumKinds, "kind of a decoded event")
		}
		if len(b) < 4 {
			return
		}
		nlLen := ne.Uint32(b[0:4])
		if uint64(nlLen) > uint64(len(b)) {
			return // the length itself is beyond the input
		}
		// Whatever follows nlmsg_len, the input's own bytes included, must
		// not change the outcome: decode reads one message and nothing past it.
		msg := slices.Clone(b[:nlLen])
		var alone procevent.Event
		hAlone, errAlone := decode(msg, &alone)
		for _, tail := range append(trailers(), b[nlLen:]) {
			padded := append(slices.Clone(msg), tail...)
			var got procevent.Event
			hGot, errGot := decode(padded, &got)
			require.Equal(t, errAlone == nil, errGot == nil,
				"message %x: alone %v, followed by %x: %v", msg, errAlone, tail, errGot)
			if errAlone == nil {
				require.Equal(t, alone, got, "event of %x followed by %x", msg, tail)
				require.Equal(t, hAlone, hGot, "header of %x followed by %x", msg, tail)
			}
		}
	})
}
