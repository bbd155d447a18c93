package passwd

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a clock tests move by hand, safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// writePasswd writes content to path and stamps it with mtime, so a rewrite is seen even on a coarse-grained file system.
func writePasswd(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	require.NoError(t, os.Chtimes(path, mtime, mtime))
}

func TestUsersFixture(t *testing.T) {
	u := NewUsers(filepath.Join("testdata", "passwd"))
	require.NoError(t, u.Err())
	for uid, want := range map[uint32]string{
		0:     "root", // not toor, which comes later
		1:     "daemon",
		1000:  "alice",
		1005:  "bob",
		65534: "nobody",
		1001:  "", // short line
		1002:  "", // uid not a number
		1003:  "", // empty name
		1004:  "", // NIS
		4242:  "", // unknown
	} {
		require.Equal(t, want, u.Name(uid), "uid %d", uid)
	}
}

func TestParsePasswd(t *testing.T) {
	require.Equal(t, map[uint32]string{0: "root", 7: "lp"}, parsePasswd([]byte(
		"root:x:0:0::/root:/bin/sh\r\n"+ // written on Windows
			"  \n"+
			"#lp:x:8:8::/:/bin/false\n"+
			"lp:x:7:7:Line Printer:/var/spool/lpd:/usr/sbin/nologin\n"+
			"big:x:4294967296:0::/:/bin/sh\n"+ // beyond uint32
			"neg:x:-1:0::/:/bin/sh\n"+
			"extra:x:9:9::/:/bin/sh:more\n"+
			"lp2:x:7:7::/:/bin/sh", // duplicate uid, no trailing newline
	)))
	require.Empty(t, parsePasswd(nil))
}

func TestUsersRefresh(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	mtime := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	writePasswd(t, path, "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n", mtime)
	clock := newFakeClock()
	u := newUsers(path, clock.now)
	require.Equal(t, "alice", u.Name(1000))
	require.Empty(t, u.Name(1001))

	// Same size, new mtime: seen, but only once the second is up.
	writePasswd(t, path, "root:x:0:0:root:/root:/bin/bash\nbobby:x:1000:1000::/home/bobby:/bin/bash\n", mtime.Add(time.Minute))
	clock.advance(999 * time.Millisecond)
	require.Equal(t, "alice", u.Name(1000))
	clock.advance(time.Millisecond)
	require.Equal(t, "bobby", u.Name(1000))

	// New size, same mtime: seen too.
	writePasswd(t, path, "root:x:0:0:root:/root:/bin/bash\nbobby:x:1000:1000::/home/bobby:/bin/bash\ncarol:x:1001:1001::/home/carol:/bin/sh\n", mtime.Add(time.Minute))
	clock.advance(time.Second)
	require.Equal(t, "carol", u.Name(1001))

	// Replaced by rename, as useradd does, with the old size and mtime: a new file all the same.
	next := path + "+"
	writePasswd(t, next, "root:x:0:0:root:/root:/bin/bash\nbobby:x:1000:1000::/home/bobby:/bin/bash\ndaveX:x:1001:1001::/home/carol:/bin/sh\n", mtime.Add(time.Minute))
	require.NoError(t, os.Rename(next, path))
	clock.advance(time.Second)
	require.Equal(t, "daveX", u.Name(1001))
	require.NoError(t, u.Err())
}

func TestUsersUnreadable(t *testing.T) {
	dir := t.TempDir()

	missing := NewUsers(filepath.Join(dir, "missing"))
	require.Empty(t, missing.Name(0))
	require.ErrorIs(t, missing.Err(), os.ErrNotExist)
	require.ErrorContains(t, missing.Err(), filepath.Join(dir, "missing"))

	isDir := NewUsers(dir)
	require.Empty(t, isDir.Name(0))
	require.Error(t, isDir.Err())

	// Readable, then gone, then back: names follow the file, and Err keeps the first failure.
	path := filepath.Join(dir, "passwd")
	writePasswd(t, path, "root:x:0:0:root:/root:/bin/bash\n", time.Now())
	clock := newFakeClock()
	u := newUsers(path, clock.now)
	require.Equal(t, "root", u.Name(0))
	require.NoError(t, u.Err())

	require.NoError(t, os.Remove(path))
	clock.advance(time.Second)
	require.Empty(t, u.Name(0))
	first := u.Err()
	require.ErrorIs(t, first, os.ErrNotExist)

	writePasswd(t, path, "root:x:0:0:root:/root:/bin/bash\n", time.Now())
	clock.advance(time.Second)
	require.Equal(t, "root", u.Name(0))
	require.Same(t, first, u.Err())
}

func TestUsersConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	base := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	writePasswd(t, path, "root:x:0:0:root:/root:/bin/bash\n", base)
	clock := newFakeClock()
	u := newUsers(path, clock.now)

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 500 {
				assert.Equal(t, "root", u.Name(0))
				_ = u.Name(1000)
				assert.NoError(t, u.Err())
			}
		})
	}
	// Rewrite by rename, so that a reader never sees a half-written file.
	for i := range 50 {
		writePasswd(t, path+"+", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n", base.Add(time.Duration(i)*time.Minute))
		require.NoError(t, os.Rename(path+"+", path))
		clock.advance(time.Second)
	}
	wg.Wait()
	clock.advance(time.Second)
	require.Equal(t, "alice", u.Name(1000))
	require.NoError(t, u.Err())
}

func TestPathBeside(t *testing.T) {
	for procRoot, want := range map[string]string{
		"/proc":                "/etc/passwd",
		"/proc/":               "/etc/passwd",
		"/host/proc":           "/host/etc/passwd",
		"/host/proc/":          "/host/etc/passwd",
		"/mnt/host/proc":       "/mnt/host/etc/passwd",
		"/host//proc":          "/host/etc/passwd",
		"/hostfs/../host/proc": "/host/etc/passwd",
	} {
		require.Equal(t, want, PathBeside(procRoot), "proc root %q", procRoot)
	}
}
