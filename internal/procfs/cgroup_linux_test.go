package procfs

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRealSelfCgroup(t *testing.T) {
	path, err := FS{Root: "/proc"}.Cgroup(int32(os.Getpid()))
	require.NoError(t, err)
	require.NotEmpty(t, path)
	id := ContainerID(path)
	t.Logf("cgroup %q, container id %q", path, id)
	require.True(t, id == "" || len(id) == 64)
}
