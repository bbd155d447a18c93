package procfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReaderSizes reads files and links larger and smaller than the
// Reader's first buffer, in turns, through one Reader, from a root given
// with and without a trailing slash.
func TestReaderSizes(t *testing.T) {
	root := t.TempDir()
	args := make([]string, 3000) // about 20 KiB of arguments
	for i := range args {
		args[i] = strings.Repeat("a", i%13)
	}
	longCwd := "/" + strings.Repeat("d", 4000)
	writeProcFiles(t, root, 7, longCwd, map[string]string{
		"cmdline": strings.Join(args, "\x00") + "\x00",
		"cgroup":  "0::/system.slice/x.service\n",
	})
	writeProcFiles(t, root, 8, "/", map[string]string{"cmdline": "sh\x00-c\x00true\x00", "cgroup": ""})
	require.NoError(t, os.Symlink("/usr/bin/sh", filepath.Join(root, "8", "exe")))

	for _, r := range []*Reader{FS{Root: root}.NewReader(), FS{Root: root + "/"}.NewReader()} {
		for range 2 {
			got, err := r.Cmdline(7)
			require.NoError(t, err)
			require.Equal(t, args[1:], got[1:]) // args[0] is empty, trimmed like any
			cwd, err := r.Cwd(7)
			require.NoError(t, err)
			require.Equal(t, longCwd, cwd)
			cg, err := r.Cgroup(7)
			require.NoError(t, err)
			require.Equal(t, "/system.slice/x.service", cg)

			got, err = r.Cmdline(8)
			require.NoError(t, err)
			require.Equal(t, []string{"sh", "-c", "true"}, got, "nothing of the larger file before it shows")
			exe, err := r.Exe(8)
			require.NoError(t, err)
			require.Equal(t, "/usr/bin/sh", exe)
			cg, err = r.Cgroup(8)
			require.NoError(t, err)
			require.Empty(t, cg)
		}
		_, err := r.Exe(7)
		require.ErrorIs(t, err, os.ErrNotExist)
		require.ErrorContains(t, err, "reading the executable of pid 7")
		require.ErrorContains(t, err, filepath.Join(root, "7", "exe"))
	}
}
