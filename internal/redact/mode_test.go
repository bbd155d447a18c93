package redact

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{
		"full":     ModeFull,
		"redacted": ModeRedacted,
		"none":     ModeNone,
		"":         ModeRedacted,
	} {
		got, err := ParseMode(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
}

func TestParseModeUnknown(t *testing.T) {
	for _, in := range []string{"x", "Full", "REDACTED", " none", "masked"} {
		_, err := ParseMode(in)
		require.Error(t, err, in)
	}
	_, err := ParseMode("x")
	require.EqualError(t, err, `command_line: unknown mode "x"; use full, redacted or none`)
}
