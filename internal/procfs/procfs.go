// Package procfs reads what procmon needs from a proc filesystem mounted at a
// configurable root, so that tests can point it at a fake tree and a
// containerised collector at the host's /proc.
package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FS is a proc filesystem mounted at Root.
type FS struct {
	Root string
}

// Stat is the part of /proc/<pid>/stat that procmon uses.
type Stat struct {
	PID        int32
	Comm       string
	State      byte
	PPID       int32
	PGRP       int32
	Session    int32
	TTY        int32  // controlling terminal's device number; 0 for none
	StartTicks uint64 // start time in clock ticks since boot
}

// Exe returns the target of /proc/<pid>/exe.
func (fs FS) Exe(pid int32) (string, error) { return fs.NewReader().Exe(pid) }

// Exe is FS.Exe through r.
func (r *Reader) Exe(pid int32) (string, error) {
	exe, err := r.link(pid, "exe")
	if err != nil {
		return "", fmt.Errorf("reading the executable of pid %d: %w", pid, err)
	}
	return exe, nil
}

// Cwd returns the target of /proc/<pid>/cwd.
func (fs FS) Cwd(pid int32) (string, error) { return fs.NewReader().Cwd(pid) }

// Cwd is FS.Cwd through r.
func (r *Reader) Cwd(pid int32) (string, error) {
	cwd, err := r.link(pid, "cwd")
	if err != nil {
		return "", fmt.Errorf("reading the working directory of pid %d: %w", pid, err)
	}
	return cwd, nil
}

// Cmdline returns the arguments of pid from /proc/<pid>/cmdline. A kernel
// thread or a zombie has none, which is not an error.
func (fs FS) Cmdline(pid int32) ([]string, error) { return fs.NewReader().Cmdline(pid) }

// Cmdline is FS.Cmdline through r.
func (r *Reader) Cmdline(pid int32) ([]string, error) {
	raw, err := r.file(pid, "cmdline")
	if err != nil {
		return nil, fmt.Errorf("reading the command line of pid %d: %w", pid, err)
	}
	return ParseCmdline(raw), nil
}

// ParseCmdline splits an argument list in which each argument ends in a
// NUL, as the kernel lays it out at exec: "a\x00\x00" is "a" and an empty
// last argument. A process that rewrote its arguments into one string comes
// back as one argument; one that padded them with NULs, with empty ones at
// the end (see TrimPadding).
func ParseCmdline(raw []byte) []string {
	if len(raw) == 0 {
		return nil
	}
	return strings.Split(string(bytes.TrimSuffix(raw, []byte{0})), "\x00")
}

// TrimPadding drops the empty arguments at the end of args: what is left of
// a process's arguments after it rewrote them and padded the rest with NULs,
// as long-running programs that retitle themselves do. At an exec nothing has
// been rewritten yet, so only arguments read later need it.
func TrimPadding(args []string) []string {
	for len(args) > 0 && args[len(args)-1] == "" {
		args = args[:len(args)-1]
	}
	if len(args) == 0 {
		return nil
	}
	return args
}

// Stat reads /proc/<pid>/stat.
func (fs FS) Stat(pid int32) (Stat, error) { return fs.NewReader().Stat(pid) }

// Stat is FS.Stat through r.
func (r *Reader) Stat(pid int32) (Stat, error) {
	raw, err := r.file(pid, "stat")
	if err != nil {
		return Stat{}, fmt.Errorf("reading the stat of pid %d: %w", pid, err)
	}
	st, err := ParseStat(raw)
	if err != nil {
		return Stat{}, fmt.Errorf("parsing the stat of pid %d: %w", pid, err)
	}
	return st, nil
}

// errStat reports a stat line that does not have the kernel's shape.
var errStat = errors.New("malformed stat line")

// ParseStat parses the contents of /proc/<pid>/stat. The command name sits in
// parentheses and may itself hold spaces and parentheses, so it runs from the
// first '(' to the last ')'.
func ParseStat(raw []byte) (Stat, error) {
	open := bytes.IndexByte(raw, '(')
	end := bytes.LastIndexByte(raw, ')')
	if open < 1 || end < open {
		return Stat{}, errStat
	}
	pid, err := strconv.ParseInt(string(bytes.TrimSpace(raw[:open])), 10, 32)
	if err != nil {
		return Stat{}, fmt.Errorf("%w: pid: %w", errStat, err)
	}
	// Fields after the comm, counted from 3 (state) as in proc(5).
	rest := bytes.Fields(raw[end+1:])
	const (
		fState     = 3
		fPPID      = 4
		fPGRP      = 5
		fSession   = 6
		fTTY       = 7
		fStartTime = 22
	)
	if len(rest) < fStartTime-2 || len(rest[0]) != 1 {
		return Stat{}, errStat
	}
	field := func(n int) []byte { return rest[n-3] }
	st := Stat{PID: int32(pid), Comm: string(raw[open+1 : end]), State: field(fState)[0]}
	for _, f := range []struct {
		n   int
		dst *int32
	}{{fPPID, &st.PPID}, {fPGRP, &st.PGRP}, {fSession, &st.Session}, {fTTY, &st.TTY}} {
		v, err := strconv.ParseInt(string(field(f.n)), 10, 32)
		if err != nil {
			return Stat{}, fmt.Errorf("%w: field %d: %w", errStat, f.n, err)
		}
		*f.dst = int32(v)
	}
	st.StartTicks, err = strconv.ParseUint(string(field(fStartTime)), 10, 64)
	if err != nil {
		return Stat{}, fmt.Errorf("%w: field %d: %w", errStat, fStartTime, err)
	}
	return st, nil
}

// PIDs lists the processes (not threads) under Root.
func (fs FS) PIDs() ([]int32, error) {
	entries, err := os.ReadDir(fs.Root)
	if err != nil {
		return nil, fmt.Errorf("listing processes in %s: %w", fs.Root, err)
	}
	pids := make([]int32, 0, len(entries))
	for _, e := range entries {
		pid, err := strconv.ParseInt(e.Name(), 10, 32)
		if err != nil || !e.IsDir() || pid <= 0 {
			continue
		}
		pids = append(pids, int32(pid))
	}
	return pids, nil
}

// Exists reports whether /proc/<pid> is still there.
func (fs FS) Exists(pid int32) bool {
	_, err := os.Stat(filepath.Join(fs.Root, strconv.FormatInt(int64(pid), 10)))
	return err == nil
}
