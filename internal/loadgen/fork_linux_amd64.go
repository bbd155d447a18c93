package loadgen

import "syscall"

// forkExitAsm vforks a child that exits at once (fork_linux_amd64.s).
func forkExitAsm() (pid, errno uintptr)

// forkExit forks a child that exits with status 0 at once. It is a vfork:
// the child shares the parent's memory, and the parent's thread waits until
// it has exited, which spares copying the page tables of a large program.
// Both happen in assembly because the child, on the parent's stack, must
// not push or call anything before it exits.
func forkExit() (int, error) {
	pid, errno := forkExitAsm()
	if errno != 0 {
		return 0, syscall.Errno(errno)
	}
	return int(pid), nil
}
