package kernel

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIsIdentityMap(t *testing.T) {
	for raw, want := range map[string]bool{
		"         0          0 4294967295\n": true,
		"0 0 4294967295":                     true,
		"         0          0          1\n": false, // root mapped alone: unshare -U --map-root-user
		"         0     100000      65536\n": false, // a rootless container
		"0 0 4294967294\n":                   false,
		"0 0 4294967295\n1 1 1\n":            false,
		"":                                   false,
	} {
		require.Equal(t, want, isIdentityMap([]byte(raw)), "%q", raw)
	}
}

// TestInitialUserNS: the tests run in the host's user namespace (the
// netlink source's tests check a child in a namespace of its own).
func TestInitialUserNS(t *testing.T) {
	initial, err := InitialUserNS()
	require.NoError(t, err)
	require.True(t, initial)
}
