package procevent

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{
		0:            "unknown",
		KindFork:     "fork",
		KindExec:     "exec",
		KindExit:     "exit",
		KindUID:      "uid",
		KindGID:      "gid",
		KindSID:      "sid",
		KindPtrace:   "ptrace",
		KindComm:     "comm",
		KindCoredump: "coredump",
		NumKinds:     "unknown",
		Kind(200):    "unknown",
	} {
		require.Equal(t, want, k.String(), "kind %d", uint8(k))
	}
}

func TestKinds(t *testing.T) {
	ks := Kinds()
	require.Len(t, ks, int(NumKinds)-1)
	for i, k := range ks {
		require.Equal(t, Kind(i+1), k)
		require.NotEqual(t, "unknown", k.String())
	}
}

func TestFields(t *testing.T) {
	var s Fields
	require.False(t, s.Has(FieldCwd))
	s = s.With(FieldCwd).With(FieldExe)
	require.True(t, s.Has(FieldCwd))
	require.True(t, s.Has(FieldExe))
	require.False(t, s.Has(FieldStat))
	require.Equal(t, Fields(1<<FieldExe), s.Without(FieldCwd))
	for f := Field(0); f < NumFields; f++ {
		require.True(t, AllFields.Has(f), "%s", f)
		require.NotEqual(t, "unknown", f.String())
	}
	require.Equal(t, "unknown", NumFields.String())
}
