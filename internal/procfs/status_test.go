package procfs

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// shortStatus is the head of a status file with the fields ParseStatus needs; name is the escaped Name value.
func shortStatus(name string) string {
	return "Name:\t" + name + "\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t812\nNgid:\t0\nPid:\t812\nPPid:\t1\nTracerPid:\t0\n" +
		"Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t \n"
}

func TestParseStatus(t *testing.T) {
	fixture, err := os.ReadFile(filepath.Join("testdata", "status", "escaped_name"))
	require.NoError(t, err)
	root := Status{TGID: 812, PPID: 1}
	withName := func(name string) Status { st := root; st.Name = name; return st }

	for _, tc := range []struct {
		name string
		raw  string
		want Status
	}{
		{"fixture with a space and an escaped newline", string(fixture), Status{
			Name: "web\nworker 1", TGID: 48213, PPID: 48190,
			UIDs: [4]uint32{1000, 1001, 1002, 1003}, GIDs: [4]uint32{100, 101, 102, 103},
		}},
		{"plain", shortStatus("sshd"), withName("sshd")},
		{"escaped backslash", shortStatus(`a\\nb`), withName(`a\nb`)},
		{"lone backslash kept", shortStatus(`a\tb\`), withName(`a\tb\`)},
		{"kernel thread with a colon", shortStatus("kworker/0:1-events"), withName("kworker/0:1-events")},
		{"trailing space kept", shortStatus("sh "), withName("sh ")},
		{"empty name", shortStatus(""), withName("")},
		{"no trailing newline", strings.TrimSuffix(shortStatus("x"), "\n"), withName("x")},
		{"first of a repeated field", shortStatus("x") + "PPid:\t9\n", withName("x")},
		{"largest uid", strings.Replace(shortStatus("x"), "Uid:\t0\t0\t0\t0", "Uid:\t4294967295\t0\t65534\t0", 1),
			func() Status { st := withName("x"); st.UIDs = [4]uint32{4294967295, 0, 65534, 0}; return st }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := ParseStatus([]byte(tc.raw))
			require.NoError(t, err)
			require.Equal(t, tc.want, st)
		})
	}
}

func TestParseStatusMalformed(t *testing.T) {
	full := shortStatus("bash")
	drop := func(key string) string {
		var kept []string
		for _, l := range strings.Split(full, "\n") {
			if !strings.HasPrefix(l, key+":") {
				kept = append(kept, l)
			}
		}
		return strings.Join(kept, "\n")
	}
	for _, tc := range []struct {
		name, raw, field string
	}{
		{"missing Uid", drop("Uid"), "no Uid line"},
		{"missing Gid", drop("Gid"), "no Gid line"},
		{"missing Name", drop("Name"), "no Name line"},
		{"missing Tgid", drop("Tgid"), "no Tgid line"},
		{"missing PPid", drop("PPid"), "no PPid line"},
		{"empty", "", "no Name line"},
		{"three uids", strings.Replace(full, "Uid:\t0\t0\t0\t0", "Uid:\t0\t0\t0", 1), "Uid: 3 ids"},
		{"five uids", strings.Replace(full, "Uid:\t0\t0\t0\t0", "Uid:\t0\t0\t0\t0\t0", 1), "Uid: more than 4"},
		{"negative uid", strings.Replace(full, "Uid:\t0\t0\t0\t0", "Uid:\t-1\t0\t0\t0", 1), "Uid:"},
		{"bad gid", strings.Replace(full, "Gid:\t0\t0\t0\t0", "Gid:\t0\tx\t0\t0", 1), "Gid:"},
		{"bad ppid", strings.Replace(full, "PPid:\t1", "PPid:\tone", 1), "PPid:"},
		{"negative tgid", strings.Replace(full, "Tgid:\t812", "Tgid:\t-812", 1), "Tgid:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseStatus([]byte(tc.raw))
			require.ErrorIs(t, err, errStatus)
			require.ErrorContains(t, err, tc.field)
		})
	}
}

// writeProcFiles lays out files and a cwd symlink for a fake /proc/<pid> under root.
func writeProcFiles(t *testing.T, root string, pid int, cwd string, files map[string]string) {
	t.Helper()
	dir := filepath.Join(root, strconv.Itoa(pid))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	if cwd != "" {
		require.NoError(t, os.Symlink(cwd, filepath.Join(dir, "cwd")))
	}
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
}

func TestFakeTreeStatusCwd(t *testing.T) {
	root := t.TempDir()
	writeProcFiles(t, root, 812, "/srv/app dir", map[string]string{"status": shortStatus(`nginx: worker\nprocess`)})
	writeProcFiles(t, root, 813, "", map[string]string{"status": "Name:\tbroken\n"})
	fs := FS{Root: root}

	st, err := fs.Status(812)
	require.NoError(t, err)
	require.Equal(t, Status{Name: "nginx: worker\nprocess", TGID: 812, PPID: 1}, st)

	r := fs.NewReader()
	for range 2 {
		st2, err := r.Status(812)
		require.NoError(t, err)
		require.Equal(t, st, st2)
	}

	cwd, err := fs.Cwd(812)
	require.NoError(t, err)
	require.Equal(t, "/srv/app dir", cwd)

	_, err = fs.Status(813)
	require.ErrorIs(t, err, errStatus)
	require.ErrorContains(t, err, "parsing the status of pid 813")
	_, err = r.Status(813)
	require.ErrorIs(t, err, errStatus)

	_, err = fs.Status(9)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.ErrorContains(t, err, "reading the status of pid 9")
	_, err = r.Status(9)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.ErrorContains(t, err, filepath.Join(root, "9", "status"), "the error names the file")
	_, err = fs.Cwd(813)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.ErrorContains(t, err, "reading the working directory of pid 813")
}

func BenchmarkParseStatus(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("testdata", "status", "escaped_name"))
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseStatus(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParseStatus(f *testing.F) {
	if raw, err := os.ReadFile(filepath.Join("testdata", "status", "escaped_name")); err == nil {
		f.Add(raw)
	}
	f.Add([]byte(shortStatus(`a\\b\nc\`)))
	f.Add([]byte("Name:\nTgid:\nPPid:\nUid:\nGid:\n"))
	f.Add([]byte("Uid:\t1\t2\t3\t4 \n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		st, err := ParseStatus(raw)
		if err != nil {
			require.Zero(t, st)
			return
		}
		require.GreaterOrEqual(t, st.TGID, int32(0))
		require.GreaterOrEqual(t, st.PPID, int32(0))
		require.LessOrEqual(t, len(st.Name), len(raw))
	})
}
