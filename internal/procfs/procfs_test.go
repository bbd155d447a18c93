package procfs

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseStat(t *testing.T) {
	line := "4242 (my (odd) cmd) S 1 4242 4240 34816 4242 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 18446744073709551615\n"
	st, err := ParseStat([]byte(line))
	require.NoError(t, err)
	require.Equal(t, Stat{PID: 4242, Comm: "my (odd) cmd", State: 'S', PPID: 1, PGRP: 4242, Session: 4240, TTY: 34816, StartTicks: 987654}, st)
}

func TestParseStatMalformed(t *testing.T) {
	for name, line := range map[string]string{
		"empty":        "",
		"no parens":    "1 bash S 0",
		"short":        "1 (bash) S 0 1 1",
		"bad ppid":     "1 (bash) S x 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 55 0",
		"bad pid":      "a (bash) S 0 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 55 0",
		"state absent": "1 (bash) SS 0 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 55 0",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseStat([]byte(line))
			require.Error(t, err)
		})
	}
}

func TestParseCmdline(t *testing.T) {
	require.Equal(t, []string{"/bin/sh", "-c", "echo hi"}, ParseCmdline([]byte("/bin/sh\x00-c\x00echo hi\x00")))
	require.Equal(t, []string{"nginx: worker process"}, ParseCmdline([]byte("nginx: worker process")))
	require.Equal(t, []string{"printf", "%s", ""}, ParseCmdline([]byte("printf\x00%s\x00\x00")), "an empty last argument")
	require.Equal(t, []string{""}, ParseCmdline([]byte("\x00")), "one empty argument")
	require.Nil(t, ParseCmdline(nil))
}

func TestTrimPadding(t *testing.T) {
	require.Equal(t, []string{"nginx: master"}, TrimPadding(ParseCmdline([]byte("nginx: master\x00\x00\x00\x00"))))
	require.Equal(t, []string{"a", "", "b"}, TrimPadding([]string{"a", "", "b", ""}))
	require.Nil(t, TrimPadding([]string{"", ""}))
	require.Nil(t, TrimPadding(nil))
}

// writeProc lays out a fake /proc/<pid> under root.
func writeProc(t *testing.T, root string, pid int, exe, cmdline, stat string) {
	dir := filepath.Join(root, strconv.Itoa(pid))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.Symlink(exe, filepath.Join(dir, "exe")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cmdline"), []byte(cmdline), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644))
}

func TestFakeTree(t *testing.T) {
	root := t.TempDir()
	writeProc(t, root, 7, "/usr/bin/sleep", "sleep\x0010\x00", "7 (sleep) S 3 7 7 0 0 0 0 0 0 0 0 0 0 0 20 0 1 0 500 0 0\n")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "self"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "uptime"), nil, 0o644))
	fs := FS{Root: root}

	pids, err := fs.PIDs()
	require.NoError(t, err)
	require.Equal(t, []int32{7}, pids)

	exe, err := fs.Exe(7)
	require.NoError(t, err)
	require.Equal(t, "/usr/bin/sleep", exe)
	args, err := fs.Cmdline(7)
	require.NoError(t, err)
	require.Equal(t, []string{"sleep", "10"}, args)
	st, err := fs.Stat(7)
	require.NoError(t, err)
	require.Equal(t, int32(3), st.PPID)
	require.Equal(t, uint64(500), st.StartTicks)
	require.True(t, fs.Exists(7))
	require.False(t, fs.Exists(8))

	_, err = fs.Exe(8)
	require.ErrorContains(t, err, "pid 8")
	require.ErrorIs(t, err, os.ErrNotExist)
}
