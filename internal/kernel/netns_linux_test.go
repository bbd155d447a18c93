package kernel

import (
	"errors"
	"os"
	"runtime"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netns"
	"go.uber.org/goleak"

	"github.com/procmon-otel/procmon/internal/testutil"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// inode returns the inode of a namespace file, which identifies the namespace.
func inode(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	require.NoError(t, syscall.Stat(path, &st), path)
	return st.Ino
}

func threadNS(t *testing.T) uint64 {
	return inode(t, "/proc/thread-self/ns/net")
}

// inFreshNS runs body on a locked thread that sits in a new network namespace
// created for the test, and puts the thread back afterwards.
func inFreshNS(t *testing.T, body func(fresh uint64)) {
	testutil.RequireRoot(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	require.NoError(t, err)
	defer orig.Close()
	fresh, err := netns.New()
	require.NoError(t, err)
	defer fresh.Close()
	defer func() { require.NoError(t, netns.Set(orig)) }()
	body(threadNS(t))
}

func TestWithRootNSFromFreshNamespace(t *testing.T) {
	// kthreadd is a kernel thread, so its namespace is the root one whatever
	// pid 1 allows the test to read.
	root := inode(t, "/proc/2/ns/net")
	inFreshNS(t, func(fresh uint64) {
		require.NotEqual(t, root, fresh, "the test must start outside the root namespace")
		var seen uint64
		require.NoError(t, WithRootNS("/proc", func() error {
			seen = threadNS(t)
			return nil
		}))
		require.Equal(t, root, seen, "fn must run in the root network namespace")
		require.Equal(t, fresh, threadNS(t), "the thread must be back in its own namespace")
	})
}

func TestWithRootNSRestoresAfterError(t *testing.T) {
	boom := errors.New("boom")
	inFreshNS(t, func(fresh uint64) {
		err := WithRootNS("/proc", func() error { return boom })
		require.ErrorIs(t, err, boom)
		require.Equal(t, fresh, threadNS(t))
	})
}

func TestWithNSAlreadyThere(t *testing.T) {
	cur, err := netns.Get()
	require.NoError(t, err)
	defer cur.Close()
	before := threadNS(t)
	calls := 0
	require.NoError(t, WithNS(cur, func() error {
		calls++
		require.Equal(t, before, threadNS(t))
		return nil
	}))
	require.Equal(t, 1, calls)
}

func TestWithRootNSBadProcRoot(t *testing.T) {
	dir := t.TempDir()
	err := WithRootNS(dir, func() error {
		t.Fatal("fn must not run")
		return nil
	})
	require.ErrorContains(t, err, "opening the root network namespace")
	require.ErrorIs(t, err, os.ErrNotExist)
}
