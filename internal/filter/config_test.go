package filter

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

// receiverConfig stands for the receiver's configuration, which holds Config
// under the key filter.
type receiverConfig struct {
	Source string `mapstructure:"source"`
	Filter Config `mapstructure:"filter"`
}

// validate validates c as the collector validates the receiver's
// configuration: confmap's recursive pass, which names each key.
func validate(c Config) error {
	return confmap.Validate(&receiverConfig{Filter: c})
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // "" for no error
	}{
		{name: "empty", cfg: Config{}},
		{name: "all settings", cfg: Config{
			Include:    &MatchConfig{MatchType: Glob, Names: []string{"c*"}, Paths: []string{"/usr/**/bin/*"}, UIDs: []uint32{0, 1000}},
			Exclude:    &MatchConfig{MatchType: Regexp, Names: []string{"^ss"}, Paths: []string{`^/tmp/`}},
			Containers: ContainersOnly,
		}},
		{name: "default match type", cfg: Config{Include: &MatchConfig{Names: []string{"curl"}}}},
		{name: "uids only with any match type", cfg: Config{Exclude: &MatchConfig{MatchType: Regexp, UIDs: []uint32{0}}}},
		{name: "every container mode", cfg: Config{Containers: HostOnly}},
		{
			name: "unknown match type",
			cfg:  Config{Include: &MatchConfig{MatchType: "x", Names: []string{"curl"}}},
			want: `filter::include::match_type: unknown match type "x"; use strict, regexp or glob`,
		},
		{
			name: "match type is case-sensitive",
			cfg:  Config{Exclude: &MatchConfig{MatchType: "Glob", Names: []string{"curl"}}},
			want: `filter::exclude::match_type: unknown match type "Glob"; use strict, regexp or glob`,
		},
		{
			name: "unknown match type hides pattern errors",
			cfg:  Config{Include: &MatchConfig{MatchType: "re", Names: []string{"("}}},
			want: `filter::include::match_type: unknown match type "re"; use strict, regexp or glob`,
		},
		{
			name: "unknown container mode",
			cfg:  Config{Containers: "x"},
			want: `filter::containers: unknown mode "x"; use any, host or containers`,
		},
		{
			name: "empty include",
			cfg:  Config{Include: &MatchConfig{MatchType: Regexp}},
			want: `filter::include: lists no names, paths or uids`,
		},
		{
			name: "empty exclude",
			cfg:  Config{Exclude: &MatchConfig{Names: []string{}}},
			want: `filter::exclude: lists no names, paths or uids`,
		},
		{
			name: "bad regexp name",
			cfg:  Config{Include: &MatchConfig{MatchType: Regexp, Names: []string{"curl", "("}}},
			want: "filter::include: names[1]: error parsing regexp: missing closing ): `(`",
		},
		{
			name: "bad regexp path",
			cfg:  Config{Exclude: &MatchConfig{MatchType: Regexp, Paths: []string{`/usr/bin/[a-`}}},
			want: "filter::exclude: paths[0]: error parsing regexp: missing closing ]: `[a-`",
		},
		{
			name: "bad glob name",
			cfg:  Config{Include: &MatchConfig{MatchType: Glob, Names: []string{"[a"}}},
			want: `filter::include: names[0]: invalid glob "[a": syntax error in pattern`,
		},
		{
			name: "bad glob path",
			cfg:  Config{Include: &MatchConfig{MatchType: Glob, Paths: []string{"/usr/bin/*", `/opt/\`}}},
			want: `filter::include: paths[1]: invalid glob "/opt/\\": syntax error in pattern`,
		},
		{
			name: "bad glob path around double star",
			cfg:  Config{Include: &MatchConfig{MatchType: Glob, Paths: []string{"/opt/**/[x"}}},
			want: `filter::include: paths[0]: invalid glob "/opt/**/[x": syntax error in pattern`,
		},
		{
			name: "double star inside a segment",
			cfg:  Config{Exclude: &MatchConfig{MatchType: Glob, Paths: []string{"/opt/**bin"}}},
			want: `filter::exclude: paths[0]: invalid glob "/opt/**bin": "**" must be a whole path segment, as in "/opt/**/bin/*"`,
		},
		{
			name: "empty name",
			cfg:  Config{Include: &MatchConfig{Names: []string{"curl", ""}}},
			want: `filter::include: names[1]: must not be empty`,
		},
		{
			name: "empty regexp path",
			cfg:  Config{Exclude: &MatchConfig{MatchType: Regexp, Paths: []string{""}}},
			want: `filter::exclude: paths[0]: must not be empty`,
		},
		{
			name: "strict name with a slash",
			cfg:  Config{Include: &MatchConfig{Names: []string{"/usr/bin/curl"}}},
			want: `filter::include: names[0]: "/usr/bin/curl" contains "/"; names match the executable's base name, put full paths under paths`,
		},
		{
			name: "glob name with a slash",
			cfg:  Config{Exclude: &MatchConfig{MatchType: Glob, Names: []string{"bin/*"}}},
			want: `filter::exclude: names[0]: "bin/*" contains "/"; names match the executable's base name, put full paths under paths`,
		},
		{
			name: "every error, in key order",
			cfg: Config{
				Include:    &MatchConfig{MatchType: Regexp, Names: []string{"(", "ok", "["}, Paths: []string{"*"}},
				Exclude:    &MatchConfig{},
				Containers: "pods",
			},
			want: "filter::include: names[0]: error parsing regexp: missing closing ): `(`\n" +
				"names[2]: error parsing regexp: missing closing ]: `[`\n" +
				"paths[0]: error parsing regexp: missing argument to repetition operator: `*`\n" +
				"filter::exclude: lists no names, paths or uids\n" +
				`filter::containers: unknown mode "pods"; use any, host or containers`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validate(tc.cfg)
			f, newErr := New(tc.cfg)
			if tc.want == "" {
				require.NoError(t, err)
				require.NoError(t, newErr)
				require.NotNil(t, f)
				return
			}
			require.EqualError(t, err, tc.want)
			require.Error(t, newErr, "New refuses what validation refuses")
			require.Nil(t, f)
		})
	}
}

func TestUnmarshal(t *testing.T) {
	conf := confmap.NewFromStringMap(map[string]any{
		"include": map[string]any{
			"match_type": "glob",
			"names":      []any{"curl", "wget*"},
			"paths":      []any{"/usr/**/bin/*"},
			"uids":       []any{0, 1000},
		},
		"exclude": map[string]any{
			"match_type": "regexp",
			"names":      []any{"^ssh"},
		},
		"containers": "host",
	})
	var cfg Config
	require.NoError(t, conf.Unmarshal(&cfg))
	require.Equal(t, Config{
		Include: &MatchConfig{
			MatchType: Glob,
			Names:     []string{"curl", "wget*"},
			Paths:     []string{"/usr/**/bin/*"},
			UIDs:      []uint32{0, 1000},
		},
		Exclude:    &MatchConfig{MatchType: Regexp, Names: []string{"^ssh"}},
		Containers: HostOnly,
	}, cfg)
	require.NoError(t, validate(cfg))

	f, err := New(cfg)
	require.NoError(t, err)
	require.True(t, f.Keep(Process{Name: "curl", Path: "/usr/local/bin/curl", UID: 1000, UIDKnown: true}))
	require.False(t, f.Keep(Process{Name: "sshd", Path: "/usr/sbin/sshd", UID: 0, UIDKnown: true}))
}

func TestUnmarshalErrors(t *testing.T) {
	for name, raw := range map[string]map[string]any{
		"negative uid":  {"include": map[string]any{"uids": []any{-1}}},
		"uid as string": {"include": map[string]any{"uids": []any{"root"}}},
		"misspelt key":  {"exclude": map[string]any{"name": []any{"curl"}}},
	} {
		t.Run(name, func(t *testing.T) {
			var cfg Config
			require.Error(t, confmap.NewFromStringMap(raw).Unmarshal(&cfg))
		})
	}
}

func TestUnmarshalEmptyBlock(t *testing.T) {
	var cfg Config
	require.NoError(t, confmap.NewFromStringMap(map[string]any{"exclude": map[string]any{}}).Unmarshal(&cfg))
	require.EqualError(t, validate(cfg), "filter::exclude: lists no names, paths or uids")
}

func TestNestedUnderFilterKey(t *testing.T) {
	conf := confmap.NewFromStringMap(map[string]any{
		"source": "netlink",
		"filter": map[string]any{
			"include":    map[string]any{"match_type": "x", "uids": []any{0}},
			"containers": "pods",
		},
	})
	var rc receiverConfig
	require.NoError(t, conf.Unmarshal(&rc))
	require.EqualError(t, confmap.Validate(&rc),
		"filter::include::match_type: unknown match type \"x\"; use strict, regexp or glob\n"+
			"filter::containers: unknown mode \"pods\"; use any, host or containers")
}
