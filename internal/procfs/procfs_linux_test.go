package procfs

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRealSelf(t *testing.T) {
	fs := FS{Root: "/proc"}
	pid := int32(os.Getpid())
	st, err := fs.Stat(pid)
	require.NoError(t, err)
	require.Equal(t, pid, st.PID)
	require.Equal(t, int32(os.Getppid()), st.PPID)
	exe, err := fs.Exe(pid)
	require.NoError(t, err)
	self, err := os.Executable()
	require.NoError(t, err)
	require.Equal(t, self, exe)
}
