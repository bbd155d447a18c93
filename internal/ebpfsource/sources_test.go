package ebpfsource

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procmon-otel/procmon/internal/testutil"
)

// TestObjectsMatchSources fails when the BPF C changed but `make generate`
// did not compile it again: bpf/sources.sha256, which generate writes beside
// the objects, must list every C source with its hash.
func TestObjectsMatchSources(t *testing.T) {
	sources, err := filepath.Glob(filepath.Join("bpf", "*.[ch]"))
	require.NoError(t, err)
	for i, path := range sources {
		sources[i] = filepath.Base(path)
	}
	testutil.RequireSums(t, "bpf", "sources.sha256", sources)
}
