package procmon

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecodeExitStatus(t *testing.T) {
	for _, tc := range []struct {
		name         string
		status       uint32
		code, signal int32
		core         bool
	}{
		{"success", 0, 0, 0, false},
		{"exit 3", 0x0300, 3, 0, false},
		{"exit 255", 0xff00, 255, 0, false},
		{"SIGKILL", 9, 0, 9, false},
		{"SIGTERM", 15, 0, 15, false},
		{"SIGABRT core", 0x86, 0, 6, true},
		{"SIGSEGV core", 0x8b, 0, 11, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, sig, core := decodeExitStatus(tc.status)
			require.Equal(t, tc.code, code)
			require.Equal(t, tc.signal, sig)
			require.Equal(t, tc.core, core)
		})
	}
}
