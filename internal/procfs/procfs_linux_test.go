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

// TestReaderAllocations checks that reading a /proc file through a Reader
// allocates nothing once its buffer is large enough.
func TestReaderAllocations(t *testing.T) {
	r := FS{Root: "/proc"}.NewReader()
	pid := int32(os.Getpid())
	for _, name := range []string{"stat", "status", "cmdline", "cgroup"} {
		allocs := testing.AllocsPerRun(50, func() {
			if _, err := r.file(pid, name); err != nil {
				t.Fatal(err)
			}
		})
		require.Zero(t, allocs, name)
	}
}
