package testutil

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

// RequireSums fails t unless the sha256sum listing dir/sums names exactly
// files (paths relative to dir), each with its content's hash: a generated
// file committed without what it was generated from, or the other way
// round. The message tells to run `make generate`, which writes the listing.
func RequireSums(t testing.TB, dir, sums string, files []string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, sums))
	require.NoError(t, err)
	defer f.Close()
	listed := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		require.True(t, ok, "%s: line %q is not sha256sum's", sums, sc.Text())
		listed[name] = sum
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, files)
	for _, name := range files {
		content, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		sum := sha256.Sum256(content)
		require.Equal(t, listed[name], hex.EncodeToString(sum[:]),
			"%s changed since make generate ran: run it and commit its output", filepath.Join(dir, name))
		delete(listed, name)
	}
	require.Empty(t, listed, "%s lists files that are gone", sums)
}
