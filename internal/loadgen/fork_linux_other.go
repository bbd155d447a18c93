//go:build linux && !amd64

package loadgen

import "syscall"

// forkExit forks a child that exits with status 0 at once. It is a plain
// fork (the memory is copied), so the child may run the Go code of the raw
// exit call without touching its parent's stack; it must not be split or
// instrumented.
//
//go:norace
//go:nosplit
func forkExit() (int, error) {
	pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	if pid == 0 {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	}
	return int(pid), nil
}
