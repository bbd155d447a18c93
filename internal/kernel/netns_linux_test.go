package kernel

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netns"
	"go.uber.org/goleak"

	"github.com/procmon-otel/procmon/internal/testutil"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRootNetNSIsTheInitialNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	// kthreadd is a kernel thread, so its namespace is the root one whatever
	// pid 1 allows the test to read.
	kthreadd, err := netns.GetFromPath("/proc/2/ns/net")
	require.NoError(t, err)
	defer kthreadd.Close()
	testutil.InFreshNetNS(t, func() {
		root, err := RootNetNS("/proc")
		require.NoError(t, err)
		defer root.Close()
		require.True(t, root.Equal(kthreadd), "the root namespace, not the thread's")
	})
}

func TestRootNetNSBadProcRoot(t *testing.T) {
	_, err := RootNetNS(t.TempDir())
	require.ErrorContains(t, err, "opening the root network namespace")
	require.ErrorIs(t, err, os.ErrNotExist)
}
