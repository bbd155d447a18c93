package procfs

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fdcwd is AT_FDCWD as a system call argument.
const fdcwd = uintptr(unix.AT_FDCWD & (1<<(8*unsafe.Sizeof(uintptr(0))) - 1))

// The system calls of a Reader, straight to the kernel: path ends in NUL.

func sysOpen(path []byte) (int, syscall.Errno) {
	for {
		fd, _, err := unix.Syscall6(unix.SYS_OPENAT, fdcwd, uintptr(unsafe.Pointer(&path[0])),
			unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
		if err != unix.EINTR {
			return int(fd), err
		}
	}
}

func sysRead(fd int, b []byte) (int, syscall.Errno) {
	for {
		n, _, err := unix.Syscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if err != unix.EINTR {
			return int(n), err
		}
	}
}

func sysReadlink(path, b []byte) (int, syscall.Errno) {
	n, _, err := unix.Syscall6(unix.SYS_READLINKAT, fdcwd, uintptr(unsafe.Pointer(&path[0])),
		uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0, 0)
	return int(n), err
}

func sysClose(fd int) { _, _, _ = unix.Syscall(unix.SYS_CLOSE, uintptr(fd), 0, 0) }
