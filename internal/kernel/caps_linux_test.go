package kernel

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseCapEff(t *testing.T) {
	caps, err := parseCapEff([]byte("Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t0000000000801000\n"))
	require.NoError(t, err)
	require.Equal(t, uint64(1<<CapNetAdmin|1<<CapSysNice), caps)
	_, err = parseCapEff([]byte("Name:\tx\n"))
	require.ErrorContains(t, err, "no CapEff")
	_, err = parseCapEff([]byte("CapEff:\tzz\n"))
	require.ErrorContains(t, err, "parsing CapEff")
}

func TestEffectiveCapsOfRoot(t *testing.T) {
	caps, err := EffectiveCaps()
	require.NoError(t, err)
	if os.Geteuid() == 0 {
		require.NotZero(t, caps&(1<<CapSysAdmin), "root has CAP_SYS_ADMIN here")
	}
}
