package filter

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMatchSegments(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"/usr/**/bin/*", "/usr/bin/ls", true},
		{"/usr/**/bin/*", "/usr/local/bin/ls", true},
		{"/usr/**/bin/*", "/usr/a/b/c/bin/ls", true},
		{"/usr/**/bin/*", "/usr/local/bin/sub/ls", false},
		{"/usr/**/bin/*", "/usr/local/sbin/ls", false},
		{"/usr/**/bin/*", "/opt/bin/ls", false},
		{"/opt/**", "/opt", true},
		{"/opt/**", "/opt/a", true},
		{"/opt/**", "/opt/a/b/c", true},
		{"/opt/**", "/optx/a", false},
		{"**", "/any/path", true},
		{"**", "relative", true},
		{"**/ls", "/bin/ls", true},
		{"**/ls", "ls", true},
		{"**/ls", "/bin/lsx", false},
		{"/**/bin/**/ls", "/bin/ls", true},
		{"/**/bin/**/ls", "/a/bin/b/c/ls", true},
		{"/**/bin/**/ls", "/a/bin/b/c/ls/x", false},
		{"/**/b?n/*", "/x/y/bin/ls", true},
		{"/**/[ab]in/*", "/x/cin/ls", false},
		{"/usr/**/bin/*", "/usr/bin/", true}, // * matches an empty last segment, as in path.Match
		{"/a/**/b/**/c", "/a/b/b/x/c", true},
		{"/a/**/b/**/c", "/a/x/c", false},
	} {
		t.Run(tc.pattern+" "+tc.name, func(t *testing.T) {
			g, err := compileGlob(tc.pattern, true)
			require.NoError(t, err)
			require.NotNil(t, g.segs)
			require.Equal(t, tc.want, matchSegments(strings.Split(tc.pattern, "/"), tc.name))
			require.Equal(t, tc.want, g.match(tc.name))
		})
	}
}

func TestCompileGlobWithoutDoubleStar(t *testing.T) {
	g, err := compileGlob("/usr/bin/*", true)
	require.NoError(t, err)
	require.Nil(t, g.segs, "a pattern without ** is left to path.Match")

	g, err = compileGlob("**", false)
	require.NoError(t, err)
	require.Nil(t, g.segs, "names are never split")
}
