package filter

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Processes the Keep cases look at.
var (
	curl      = Process{Name: "curl", Path: "/usr/bin/curl", UID: 1000, UIDKnown: true}
	localCurl = Process{Name: "curl", Path: "/usr/local/bin/curl", UID: 1000, UIDKnown: true}
	wget      = Process{Name: "wget", Path: "/usr/bin/wget", UID: 1000, UIDKnown: true}
	sshd      = Process{Name: "sshd", Path: "/usr/sbin/sshd", UID: 0, UIDKnown: true}
	nginx     = Process{Name: "nginx", Path: "/usr/sbin/nginx", UID: 101, UIDKnown: true, ContainerID: "4f3c2b1a"}
	noName    = Process{Path: "/usr/bin/curl", UID: 1000, UIDKnown: true}
	noPath    = Process{Name: "curl", UID: 1000, UIDKnown: true}
	noUID     = Process{Name: "sshd", Path: "/usr/sbin/sshd"} // UID 0, but not known
	unknown   = Process{}
)

func include(mt MatchType, names, paths []string, uids ...uint32) Config {
	return Config{Include: &MatchConfig{MatchType: mt, Names: names, Paths: paths, UIDs: uids}}
}

func exclude(mt MatchType, names, paths []string, uids ...uint32) Config {
	return Config{Exclude: &MatchConfig{MatchType: mt, Names: names, Paths: paths, UIDs: uids}}
}

func list(s ...string) []string { return s }

func TestKeep(t *testing.T) {
	both := Config{
		Include: &MatchConfig{UIDs: []uint32{1000}},
		Exclude: &MatchConfig{Names: list("curl")},
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		p    Process
		want bool
	}{
		// Include only, strict.
		{"strict name included", include(Strict, list("curl"), nil), curl, true},
		{"strict name not listed", include(Strict, list("curl"), nil), sshd, false},
		{"strict names are ORed", include(Strict, list("curl", "sshd"), nil), sshd, true},
		{"strict is case-sensitive", include(Strict, list("Curl"), nil), curl, false},
		{"strict is not a prefix match", include(Strict, list("cur"), nil), curl, false},
		{"default match type is strict", include("", list("c*"), nil), curl, false},
		{"strict path", include(Strict, nil, list("/usr/bin/curl")), curl, true},
		{"strict path elsewhere", include(Strict, nil, list("/usr/bin/curl")), localCurl, false},

		// Regexp.
		{"regexp name", include(Regexp, list("^ss"), nil), sshd, true},
		{"regexp is unanchored", include(Regexp, list("sh"), nil), sshd, true},
		{"regexp anchored by the user", include(Regexp, list("^ssh$"), nil), sshd, false},
		{"regexp names are ORed", include(Regexp, list("^wg", "url$"), nil), curl, true},
		{"regexp path", include(Regexp, nil, list(`^/usr/s?bin/`)), curl, true},
		{"regexp path no match", include(Regexp, nil, list(`^/usr/bin/`)), localCurl, false},

		// Glob.
		{"glob name star", include(Glob, list("c*"), nil), curl, true},
		{"glob name question mark", include(Glob, list("s?hd"), nil), sshd, true},
		{"glob name class", include(Glob, list("[a-c]url"), nil), curl, true},
		{"glob name is whole-string", include(Glob, list("cur"), nil), curl, false},
		{"glob name double star is a star", include(Glob, list("**"), nil), curl, true},
		{"glob path star", include(Glob, nil, list("/usr/bin/*")), curl, true},
		{"glob path star does not cross a slash", include(Glob, nil, list("/usr/*")), curl, false},
		{"glob path double star crosses", include(Glob, nil, list("/usr/**")), localCurl, true},
		{"glob path double star matches no segment", include(Glob, nil, list("/usr/**/bin/*")), curl, true},
		{"glob path double star matches one segment", include(Glob, nil, list("/usr/**/bin/*")), localCurl, true},
		{"glob path double star still needs the rest", include(Glob, nil, list("/usr/**/bin/*")), sshd, false},

		// UIDs.
		{"uid included", include(Strict, nil, nil, 0), sshd, true},
		{"uid not listed", include(Strict, nil, nil, 0), curl, false},
		{"uids are ORed", include(Strict, nil, nil, 0, 1000), curl, true},

		// AND across kinds.
		{"name and uid both match", include(Strict, list("curl"), nil, 0, 1000), curl, true},
		{"name matches, uid does not", include(Strict, list("curl"), nil, 0), curl, false},
		{"uid matches, name does not", include(Strict, list("wget"), nil, 1000), curl, false},
		{"name matches, path does not", include(Glob, list("curl"), list("/usr/local/**")), curl, false},
		{"name, path and uid match", include(Glob, list("curl"), list("/usr/local/**"), 1000), localCurl, true},

		// Unknown name, path or uid.
		{"unknown name fails include names", include(Strict, list("curl"), nil), noName, false},
		{"unknown name fails even a match-all regexp", include(Regexp, list(".*"), nil), noName, false},
		{"unknown path fails include paths", include(Glob, nil, list("*")), noPath, false},
		{"unknown uid fails include uids, though UID is 0", include(Strict, nil, nil, 0), noUID, false},
		{"unknown name passes exclude names", exclude(Strict, list("curl"), nil), noName, true},
		{"unknown path passes exclude paths", exclude(Regexp, nil, list(".*")), noPath, true},
		{"unknown uid passes exclude uids", exclude(Strict, nil, nil, 0), noUID, true},
		{"unknown uid passes exclude of name and uid", exclude(Strict, list("sshd"), nil, 0), noUID, true},
		{"an unknown process passes an empty config", Config{}, unknown, true},

		// Exclude only.
		{"excluded by name", exclude(Strict, list("sshd"), nil), sshd, false},
		{"not excluded", exclude(Strict, list("sshd"), nil), curl, true},
		{"excluded by regexp name and uid", exclude(Regexp, list("^ss"), nil, 0), sshd, false},
		{"exclude needs every kind", exclude(Strict, list("sshd"), nil, 1000), sshd, true},
		{"excluded by glob path", exclude(Glob, nil, list("/usr/sbin/*")), sshd, false},

		// Include and exclude.
		{"included, then excluded", both, curl, false},
		{"included, not excluded", both, wget, true},
		{"not included", both, sshd, false},
		{"include glob, exclude regexp: kept", Config{
			Include: &MatchConfig{MatchType: Glob, Paths: list("/usr/**")},
			Exclude: &MatchConfig{MatchType: Regexp, Names: list("^ss")},
		}, curl, true},
		{"include glob, exclude regexp: dropped", Config{
			Include: &MatchConfig{MatchType: Glob, Paths: list("/usr/**")},
			Exclude: &MatchConfig{MatchType: Regexp, Names: list("^ss")},
		}, sshd, false},

		// Containers.
		{"host keeps the host", Config{Containers: HostOnly}, curl, true},
		{"host drops containers", Config{Containers: HostOnly}, nginx, false},
		{"containers keeps containers", Config{Containers: ContainersOnly}, nginx, true},
		{"containers drops the host", Config{Containers: ContainersOnly}, curl, false},
		{"any keeps containers", Config{Containers: AnyContainer}, nginx, true},
		{"default is any", Config{}, nginx, true},
		{"containers and include", Config{Containers: ContainersOnly, Include: &MatchConfig{Names: list("nginx")}}, nginx, true},
		{"containers and exclude", Config{Containers: ContainersOnly, Exclude: &MatchConfig{UIDs: []uint32{101}}}, nginx, false},
		{"host mode wins over include", Config{Containers: HostOnly, Include: &MatchConfig{Names: list("nginx")}}, nginx, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := New(tc.cfg)
			require.NoError(t, err)
			require.Equal(t, tc.want, f.Keep(tc.p))
		})
	}
}

func TestEmptyConfigKeepsAll(t *testing.T) {
	f, err := New(Config{})
	require.NoError(t, err)
	require.False(t, f.Active())
	for _, p := range []Process{curl, localCurl, sshd, nginx, noName, noPath, noUID, unknown} {
		require.True(t, f.Keep(p))
	}

	var nilFilter *Filter
	require.False(t, nilFilter.Active(), "a nil filter is inactive")
	require.True(t, nilFilter.Keep(nginx), "a nil filter keeps everything")
}

func TestActive(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want bool
	}{
		{"empty", Config{}, false},
		{"any containers", Config{Containers: AnyContainer}, false},
		{"host only", Config{Containers: HostOnly}, true},
		{"containers only", Config{Containers: ContainersOnly}, true},
		{"include", include(Strict, list("curl"), nil), true},
		{"exclude", exclude(Strict, nil, nil, 0), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := New(tc.cfg)
			require.NoError(t, err)
			require.Equal(t, tc.want, f.Active())
		})
	}
}

func TestKeepConcurrent(t *testing.T) {
	f, err := New(Config{
		Include: &MatchConfig{MatchType: Regexp, Names: list("^(curl|sshd|wget)$")},
		Exclude: &MatchConfig{MatchType: Glob, Paths: list("/usr/**/sbin/*")},
	})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if !f.Keep(curl) || f.Keep(sshd) || f.Keep(nginx) {
					t.Error("wrong decision under concurrency")
					return
				}
			}
		})
	}
	wg.Wait()
}

// benchConfigs are a realistic include and exclude in each match type.
func benchConfigs() map[string]Config {
	return map[string]Config{
		"strict": {
			Include: &MatchConfig{Names: list("bash", "curl", "python3", "wget"), UIDs: []uint32{0, 1000}},
			Exclude: &MatchConfig{Paths: list("/usr/libexec/curl", "/opt/curl")},
		},
		"regexp": {
			Include: &MatchConfig{MatchType: Regexp, Names: list("^(ba|z)sh$", "^curl$", "^python[0-9.]*$"), UIDs: []uint32{0, 1000}},
			Exclude: &MatchConfig{MatchType: Regexp, Paths: list("^/usr/libexec/", "^/opt/")},
		},
		"glob": {
			Include: &MatchConfig{MatchType: Glob, Names: list("*sh", "curl", "python*"), UIDs: []uint32{0, 1000}},
			Exclude: &MatchConfig{MatchType: Glob, Paths: list("/usr/libexec/*", "/opt/**")},
		},
		"glob_doublestar": {
			Include: &MatchConfig{MatchType: Glob, Paths: list("/usr/**/bin/*")},
			Exclude: &MatchConfig{MatchType: Glob, Paths: list("/usr/**/libexec/**")},
		},
	}
}

// benchProcesses are kept, dropped by include and dropped by exclude.
var benchProcesses = []Process{
	localCurl,
	sshd,
	{Name: "curl", Path: "/opt/curl", UID: 0, UIDKnown: true},
	{Name: "bash", Path: "/usr/bin/bash", UID: 1000, UIDKnown: true},
}

func TestKeepDoesNotAllocate(t *testing.T) {
	for name, cfg := range benchConfigs() {
		t.Run(name, func(t *testing.T) {
			if raceEnabled && name == "regexp" {
				t.Skip("under the race detector sync.Pool drops items, so regexp matching allocates")
			}
			f, err := New(cfg)
			require.NoError(t, err)
			allocs := testing.AllocsPerRun(200, func() {
				for _, p := range benchProcesses {
					f.Keep(p)
				}
			})
			require.Zero(t, allocs)
		})
	}
}

func BenchmarkKeep(b *testing.B) {
	for _, name := range []string{"strict", "regexp", "glob", "glob_doublestar"} {
		b.Run(name, func(b *testing.B) {
			f, err := New(benchConfigs()[name])
			require.NoError(b, err)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				f.Keep(benchProcesses[i%len(benchProcesses)])
				i++
			}
		})
	}
}
