package testutil

import (
	"runtime"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netns"
)

// InFreshNetNS runs body with the calling goroutine locked to its thread and
// the thread in a new network namespace made for the test. Afterwards the
// thread goes back to its namespace and is unlocked; should it fail to go
// back it stays locked, and Go ends the thread with its goroutine. It needs
// root.
func InFreshNetNS(t testing.TB, body func()) {
	t.Helper()
	RequireRoot(t)
	runtime.LockOSThread()
	orig, err := netns.Get()
	require.NoError(t, err)
	defer orig.Close()
	fresh, err := netns.New()
	require.NoError(t, err)
	defer fresh.Close()
	defer func() {
		require.NoError(t, netns.Set(orig))
		runtime.UnlockOSThread()
	}()
	require.NotEqual(t, NetNSInode(t, "/proc/2/ns/net"), ThreadNetNS(t), "the thread must be outside the root namespace")
	body()
}

// NetNSInode returns the inode of a namespace file, which identifies the
// namespace.
func NetNSInode(t testing.TB, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	require.NoError(t, syscall.Stat(path, &st), path)
	return st.Ino
}

// ThreadNetNS returns the inode of the calling thread's network namespace.
func ThreadNetNS(t testing.TB) uint64 {
	t.Helper()
	return NetNSInode(t, "/proc/thread-self/ns/net")
}
