package procfs

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// statTail is what follows the command name in a stat line: state to
// starttime (field 22) and beyond.
const statTail = " S 1 4242 4240 34816 4242 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 18446744073709551615\n"

func FuzzParseStat(f *testing.F) {
	for _, comm := range []string{
		"bash",
		"my (odd) cmd",
		"a)b\nc",
		") S 1 2 3",
		"((",
		"))",
		"tab\there",
		"",
		"\xff\xfe",
	} {
		f.Add([]byte("4242 (" + comm + ")" + statTail))
	}
	f.Add([]byte("1 (x) S"))
	f.Add([]byte("(x)" + statTail))
	f.Add([]byte("-1 (x)" + statTail))
	f.Add([]byte("1 (x) SS 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		st, err := ParseStat(raw)
		if err != nil {
			require.Zero(t, st)
			return
		}
		require.True(t, bytes.Contains(raw, []byte("("+st.Comm+")")), "comm %q is not in the input between parentheses", st.Comm)
		require.True(t, bytes.IndexByte(raw[bytes.LastIndexByte(raw, ')'):], st.State) > 0, "state %q is not after the comm", st.State)
	})
}

func FuzzParseCmdline(f *testing.F) {
	for _, raw := range []string{
		"",
		"\x00",
		"\x00\x00\x00",
		"/bin/sh\x00-c\x00echo hi\x00",
		"nginx: worker process",
		"a\x00\x00b\x00",
		"\x00lead",
		"\xff\xfe\x00\xc3\x28\x00\xed\xa0\x80",
		"x\x00" + strings.Repeat("y", 4096) + "\x00",
	} {
		f.Add([]byte(raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		args := ParseCmdline(raw)
		if len(raw) == 0 {
			require.Nil(t, args)
			return
		}
		// Each argument and its NUL, the last one's NUL optional.
		require.Equal(t, string(bytes.TrimSuffix(raw, []byte{0})), strings.Join(args, "\x00"))
	})
}
