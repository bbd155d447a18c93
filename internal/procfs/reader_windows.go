package procfs

import "syscall"

// Windows has no /proc: every read of a Reader fails with ENOSYS, so that the
// module builds there (a receiver cannot be created on it).

func sysOpen([]byte) (int, syscall.Errno) { return -1, syscall.ENOSYS }

func sysRead(int, []byte) (int, syscall.Errno) { return 0, syscall.ENOSYS }

func sysReadlink(_, _ []byte) (int, syscall.Errno) { return 0, syscall.ENOSYS }

func sysClose(int) {}
