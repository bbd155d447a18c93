package testutil

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// ConnectorAdmitsUnprivileged reports whether this kernel lets a process
// without CAP_NET_ADMIN join the proc connector's process event group, which
// kernels and their security modules answer differently. It asks the kernel
// from a thread of its own that drops CAP_NET_ADMIN from its effective set
// (capabilities are per thread), and never unlocks that thread, so Go ends it
// rather than hand it to other goroutines. It needs root.
func ConnectorAdmitsUnprivileged(t testing.TB) bool {
	t.Helper()
	RequireRoot(t)
	type answer struct {
		admitted bool
		err      error
		what     string
	}
	ch := make(chan answer, 1)
	go func() {
		runtime.LockOSThread()
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			ch <- answer{err: err, what: "capget"}
			return
		}
		data[0].Effective &^= 1 << unix.CAP_NET_ADMIN
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			ch <- answer{err: err, what: "capset"}
			return
		}
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_CONNECTOR)
		if err != nil {
			ch <- answer{err: err, what: "socket"}
			return
		}
		defer unix.Close(fd)
		err = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, 1)
		if err == unix.EPERM {
			ch <- answer{}
			return
		}
		ch <- answer{admitted: err == nil, err: err, what: "joining the process event group"}
	}()
	a := <-ch
	if a.err != nil {
		t.Fatalf("asking the kernel whether an unprivileged process may join the proc connector's group: %s: %v", a.what, a.err)
	}
	return a.admitted
}
