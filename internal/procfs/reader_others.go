//go:build unix && !linux

package procfs

import (
	"errors"
	"syscall"
)

// The system calls of a Reader, through package syscall: path ends in NUL.

func sysOpen(path []byte) (int, syscall.Errno) {
	fd, err := syscall.Open(string(path[:len(path)-1]), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	return fd, errnoOf(err)
}

func sysRead(fd int, b []byte) (int, syscall.Errno) {
	n, err := syscall.Read(fd, b)
	return n, errnoOf(err)
}

func sysReadlink(path, b []byte) (int, syscall.Errno) {
	n, err := syscall.Readlink(string(path[:len(path)-1]), b)
	return n, errnoOf(err)
}

func sysClose(fd int) { _ = syscall.Close(fd) }

func errnoOf(err error) syscall.Errno {
	var errno syscall.Errno
	if err != nil && !errors.As(err, &errno) {
		return syscall.EIO
	}
	return errno
}
