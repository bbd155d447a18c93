package procmonreceiver

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procmon-otel/procmon/internal/testutil"
)

// TestGeneratedMatchesMetadata fails when metadata.yaml or what mdatagen
// generated from it changed without the other: `make generate` runs mdatagen
// and records the hashes of both in metadata.sha256.
func TestGeneratedMatchesMetadata(t *testing.T) {
	generated, err := filepath.Glob(filepath.Join("internal", "metadata", "*"))
	require.NoError(t, err)
	files := []string{"metadata.yaml", "documentation.md", "generated_component_test.go", "generated_package_test.go"}
	for _, path := range generated {
		if st, err := os.Stat(path); err == nil && !st.IsDir() {
			files = append(files, path)
		}
	}
	testutil.RequireSums(t, ".", "metadata.sha256", files)
}
