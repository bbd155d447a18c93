//go:build unix

package loadgen

import "syscall"

// startProgram forks and execs argv (argv[0] is the program's path) and
// returns the child's pid.
func startProgram(argv []string) (int, error) {
	return syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{Env: []string{"PATH=/usr/bin:/bin"}})
}

// reap waits for the child pid to end.
func reap(pid int) error {
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if err != syscall.EINTR {
			return err
		}
	}
}
