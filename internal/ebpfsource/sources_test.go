package ebpfsource

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestObjectsMatchSources fails when the BPF C changed but `make generate`
// did not compile it again: bpf/sources.sha256, which generate writes beside
// the objects, must list every C source with its hash.
func TestObjectsMatchSources(t *testing.T) {
	f, err := os.Open(filepath.Join("bpf", "sources.sha256"))
	require.NoError(t, err)
	defer f.Close()
	listed := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		require.True(t, ok, "line %q is not sha256sum's", sc.Text())
		listed[name] = sum
	}
	require.NoError(t, sc.Err())

	sources, err := filepath.Glob(filepath.Join("bpf", "*.[ch]"))
	require.NoError(t, err)
	require.NotEmpty(t, sources)
	for _, path := range sources {
		name := filepath.Base(path)
		content, err := os.ReadFile(path)
		require.NoError(t, err)
		sum := sha256.Sum256(content)
		require.Equal(t, listed[name], hex.EncodeToString(sum[:]),
			"bpf/%s changed since the objects were generated: run make generate and commit its output", name)
		delete(listed, name)
	}
	require.Empty(t, listed, "bpf/sources.sha256 lists sources that are gone")
}
