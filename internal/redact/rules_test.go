package redact

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFlagKind(t *testing.T) {
	for arg, want := range map[string]nameKind{
		"--password":   kindSecret,
		"-token":       kindSecret,
		"-u":           kindUserPass,
		"--password=x": kindNone, // the value is in the argument itself
		"password":     kindNone,
		"-5password":   kindNone,
		"--":           kindNone,
		"-":            kindNone,
		"--pass word":  kindNone,
		"":             kindNone,
	} {
		require.Equal(t, want, flagKind(arg), "%q", arg)
	}
}

func TestIsFlagLike(t *testing.T) {
	for v, want := range map[string]bool{
		"-v": true, "--verbose": true, "--": true, "-": true, "- x": true,
		"-5": false, "-!x": false, "x": false, "": false, "***": false,
	} {
		require.Equal(t, want, isFlagLike(v), "%q", v)
	}
}

func TestWordValue(t *testing.T) {
	for _, tt := range []struct {
		s          string
		vs, vStart int
		want       string
	}{
		{"a=b c", 2, 2, "b"},
		{"a=b;c", 2, 2, "b"},
		{"a=b&c", 2, 2, "b"},
		{`a="b c" d`, 2, 3, "b c"},
		{`a='b"c' d`, 2, 3, `b"c`},
		{`a="b c`, 2, 3, "b c"},
		{"a=", 2, 2, ""},
	} {
		start, end := wordValue(tt.s, tt.vs)
		require.Equal(t, tt.vStart, start, tt.s)
		require.Equal(t, tt.want, tt.s[start:end], tt.s)
	}
}

func TestScanSpansEndBeforeNonNameBytes(t *testing.T) {
	// Masking must not glue the text after a span to a name before it.
	for _, s := range []string{
		"x --password=a;b", "x TOKEN=a&b=c", "Authorization: a'b", "x://u:p@h",
		`{"token":"a"}`, `{"token":1,"b":2}`, "x --token a|b", "-u a:b c",
	} {
		for _, sp := range scanDefault(s, nil) {
			require.True(t, sp.end == len(s) || !isNameByte(s[sp.end]), "%q %v", s, sp)
		}
	}
}
