package procfs

import (
	"io/fs"
	"strconv"
	"syscall"
)

// Reader reads the files of an FS's processes into memory it keeps for the
// next read. A file costs three system calls (open, read, close) and no
// allocation but what the result holds: os.ReadFile spends eight on a /proc
// file (it also tries to register it with the poller, toggles O_NONBLOCK
// twice, stats it and reads once more for the end). One goroutine uses a
// Reader at a time.
type Reader struct {
	root string
	path []byte // the NUL-terminated path of the file being read
	buf  []byte // the last file read, or link target
}

// NewReader returns a Reader of fs's processes.
func (fs FS) NewReader() *Reader {
	return &Reader{root: fs.Root, path: make([]byte, 0, 64), buf: make([]byte, 4096)}
}

// at sets r.path to <root>/<pid>/<name> and returns it with its NUL.
func (r *Reader) at(pid int32, name string) []byte {
	p := append(r.path[:0], r.root...)
	if len(p) == 0 || p[len(p)-1] != '/' {
		p = append(p, '/')
	}
	p = strconv.AppendInt(p, int64(pid), 10)
	p = append(p, '/')
	p = append(p, name...)
	r.path = append(p, 0)
	return r.path
}

// pathErr describes a failed operation on the file r.path names.
func (r *Reader) pathErr(op string, errno syscall.Errno) error {
	return &fs.PathError{Op: op, Path: string(r.path[:len(r.path)-1]), Err: errno}
}

// file reads <root>/<pid>/<name> whole; the bytes are valid until the next
// read. A read that leaves room in the buffer has reached the end: proc's
// files hand over all they have when it fits.
func (r *Reader) file(pid int32, name string) ([]byte, error) {
	path := r.at(pid, name)
	fd, err := sysOpen(path)
	if err != 0 {
		return nil, r.pathErr("open", err)
	}
	defer sysClose(fd)
	n := 0
	for {
		m, err := sysRead(fd, r.buf[n:])
		if err != 0 {
			return nil, r.pathErr("read", err)
		}
		n += m
		if m == 0 || n < len(r.buf) {
			return r.buf[:n], nil
		}
		r.buf = append(r.buf, make([]byte, len(r.buf))...)
	}
}

// link returns the target of the symbolic link <root>/<pid>/<name>.
func (r *Reader) link(pid int32, name string) (string, error) {
	path := r.at(pid, name)
	for {
		n, err := sysReadlink(path, r.buf)
		if err != 0 {
			return "", r.pathErr("readlink", err)
		}
		if n < len(r.buf) {
			return string(r.buf[:n]), nil
		}
		r.buf = append(r.buf, make([]byte, len(r.buf))...) // the target may be longer
	}
}
