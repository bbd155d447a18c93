package loadgen

import "syscall"

// forkExit forks a child that exits with status 0 at once. It is a vfork:
// the child shares the parent's memory and the parent's thread waits until
// it has exited, which spares copying the page tables of a large program.
// The child runs only the raw exit system call: in a child of a
// multi-threaded program, and on a borrowed stack, nothing else is safe,
// which is also why this may not be split or instrumented.
//
//go:norace
//go:nosplit
func forkExit() (int, error) {
	pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.CLONE_VM|syscall.CLONE_VFORK|syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	if pid == 0 {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	}
	return int(pid), nil
}
