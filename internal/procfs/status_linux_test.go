package procfs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRealSelfStatus(t *testing.T) {
	fs := FS{Root: "/proc"}
	pid := int32(os.Getpid())
	st, err := fs.Status(pid)
	require.NoError(t, err)
	require.Equal(t, pid, st.TGID)
	require.Equal(t, int32(os.Getppid()), st.PPID)
	require.Equal(t, uint32(os.Getuid()), st.UIDs[0])
	require.Equal(t, uint32(os.Geteuid()), st.UIDs[1])
	require.Equal(t, uint32(os.Getgid()), st.GIDs[0])
	require.Equal(t, uint32(os.Getegid()), st.GIDs[1])
	stat, err := fs.Stat(pid)
	require.NoError(t, err)
	require.Equal(t, stat.Comm, st.Name)

	r := fs.NewReader()
	for range 2 { // the second read reuses the first's memory
		st2, err := r.Status(pid)
		require.NoError(t, err)
		require.Equal(t, st, st2)
	}
}

func TestRealSelfCwd(t *testing.T) {
	cwd, err := FS{Root: "/proc"}.Cwd(int32(os.Getpid()))
	require.NoError(t, err)
	wd, err := os.Getwd()
	require.NoError(t, err)
	// Getwd may answer with $PWD, which can go through a symlink; the kernel's answer never does.
	wd, err = filepath.EvalSymlinks(wd)
	require.NoError(t, err)
	require.Equal(t, wd, cwd)
}

func BenchmarkRealStatus(b *testing.B) {
	fs := FS{Root: "/proc"}
	pid := int32(os.Getpid())
	b.Run("Status", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := fs.Status(pid); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Reader", func(b *testing.B) {
		b.ReportAllocs()
		r := fs.NewReader()
		for b.Loop() {
			if _, err := r.Status(pid); err != nil {
				b.Fatal(err)
			}
		}
	})
}
