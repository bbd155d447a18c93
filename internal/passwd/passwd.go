// Package passwd names users from the host's passwd file, which procmon
// finds beside the host's proc filesystem.
package passwd

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// usersRecheck is how long Users trusts its copy of the passwd file before looking at the file again.
const usersRecheck = time.Second

// Users maps uids to names from a passwd file, re-reading it when its modification time or size changes (checked at most once per second), safe for concurrent use.
type Users struct {
	path string
	now  func() time.Time // injectable so tests need not sleep

	mu      sync.Mutex
	checked time.Time   // when the file was last looked at; zero before the first look
	info    os.FileInfo // of the file names came from; nil when it could not be read
	names   map[uint32]string
	err     error // the first read error
}

// NewUsers reads passwdPath and returns a Users that follows its changes.
func NewUsers(passwdPath string) *Users {
	return newUsers(passwdPath, time.Now)
}

func newUsers(passwdPath string, now func() time.Time) *Users {
	u := &Users{path: passwdPath, now: now}
	u.mu.Lock()
	u.refresh()
	u.mu.Unlock()
	return u
}

// PathBeside returns the passwd file that belongs to procRoot: "/etc/passwd" for "/proc", and "<dir>/etc/passwd" for "<dir>/proc" (e.g. "/host/proc" -> "/host/etc/passwd").
func PathBeside(procRoot string) string {
	// The host's root is the directory the host's proc sits in, whatever that proc is called.
	return filepath.Join(filepath.Dir(filepath.Clean(procRoot)), "etc", "passwd")
}

// Name returns the user name for uid, or "" when unknown or the file is unreadable (never an error on the hot path; the first read error is kept for Err()).
func (u *Users) Name(uid uint32) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.refresh()
	return u.names[uid]
}

// Err returns the first error met reading the passwd file, or nil.
func (u *Users) Err() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

// refresh re-reads the file when it changed, at most once per usersRecheck; u.mu is held.
func (u *Users) refresh() {
	now := u.now()
	if since := now.Sub(u.checked); !u.checked.IsZero() && since >= 0 && since < usersRecheck {
		return
	}
	u.checked = now
	fi, err := os.Stat(u.path)
	if err != nil {
		u.fail(err)
		return
	}
	if u.info != nil && os.SameFile(u.info, fi) && fi.ModTime().Equal(u.info.ModTime()) && fi.Size() == u.info.Size() {
		return
	}
	f, err := os.Open(u.path)
	if err != nil {
		u.fail(err)
		return
	}
	defer f.Close()
	// Stat the open file, so that a change racing the read shows up at the next look.
	fi, err = f.Stat()
	if err != nil {
		u.fail(err)
		return
	}
	raw, err := io.ReadAll(f)
	if err != nil {
		u.fail(err)
		return
	}
	u.info, u.names = fi, parsePasswd(raw)
}

// fail forgets the names and keeps err if it is the first.
func (u *Users) fail(err error) {
	u.info, u.names = nil, nil
	if u.err == nil {
		u.err = fmt.Errorf("reading user names from %s: %w", u.path, err)
	}
}

// parsePasswd maps uids to names from passwd lines name:x:uid:gid:gecos:home:shell, keeping the first name of a uid.
func parsePasswd(raw []byte) map[uint32]string {
	names := make(map[uint32]string)
	for len(raw) > 0 {
		var line []byte
		line, raw, _ = bytes.Cut(raw, []byte{'\n'})
		line = bytes.TrimRight(line, "\r")
		// NIS lines start with + or -; they name no local user.
		if len(line) == 0 || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		name, rest, _ := bytes.Cut(line, []byte{':'})
		_, rest, _ = bytes.Cut(rest, []byte{':'})
		uidField, rest, ok := bytes.Cut(rest, []byte{':'})
		if !ok || len(name) == 0 || bytes.Count(rest, []byte{':'}) != 3 {
			continue
		}
		uid, err := strconv.ParseUint(string(uidField), 10, 32)
		if err != nil {
			continue
		}
		if _, dup := names[uint32(uid)]; !dup {
			names[uint32(uid)] = string(name)
		}
	}
	return names
}
