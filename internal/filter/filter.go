package filter

import (
	"path"
	"regexp"
)

// Process is what a filter decision looks at.
type Process struct {
	// Name is the executable's base name, "" when unknown.
	Name string
	// Path is the executable's path, "" when unknown.
	Path string
	// UID is the effective user id; it counts only when UIDKnown.
	UID uint32
	// UIDKnown says whether UID was read.
	UIDKnown bool
	// ContainerID is the container the process runs in, "" for the host.
	ContainerID string
}

// Filter decides which processes are reported; it is immutable, so Keep is safe for concurrent use.
type Filter struct {
	include    *block
	exclude    *block
	containers ContainerMode
}

// block is a compiled include or exclude block; a nil field is a kind the block does not list.
type block struct {
	names *matcher
	paths *matcher
	uids  map[uint32]struct{}
}

// matcher is one compiled names or paths list; only the field of its match type is set.
type matcher struct {
	strict  map[string]struct{}
	regexps []*regexp.Regexp
	globs   []glob
}

// glob is a checked path.Match pattern; segs is set when a path pattern has a "**" segment.
type glob struct {
	pattern string
	segs    []string
}

// New builds a Filter from c, with the same errors as Validate; New(Config{}) keeps everything.
func New(c Config) (*Filter, error) {
	return compile(c)
}

// Keep reports whether p passes the containers mode, the include block and the exclude block.
func (f *Filter) Keep(p Process) bool {
	if f == nil {
		return true
	}
	switch f.containers {
	case HostOnly:
		if p.ContainerID != "" {
			return false
		}
	case ContainersOnly:
		if p.ContainerID == "" {
			return false
		}
	}
	if f.include != nil && !f.include.match(&p) {
		return false
	}
	return f.exclude == nil || !f.exclude.match(&p)
}

// Active reports whether the filter can drop anything, so that callers can skip work.
func (f *Filter) Active() bool {
	if f == nil {
		return false
	}
	return f.include != nil || f.exclude != nil || (f.containers != "" && f.containers != AnyContainer)
}

// match reports whether p matches every kind of criterion the block lists.
func (b *block) match(p *Process) bool {
	if b.names != nil && (p.Name == "" || !b.names.match(p.Name)) {
		return false
	}
	if b.paths != nil && (p.Path == "" || !b.paths.match(p.Path)) {
		return false
	}
	if b.uids != nil {
		if !p.UIDKnown {
			return false
		}
		if _, ok := b.uids[p.UID]; !ok {
			return false
		}
	}
	return true
}

// match reports whether s matches any entry of the list.
func (m *matcher) match(s string) bool {
	if m.strict != nil {
		_, ok := m.strict[s]
		return ok
	}
	for _, re := range m.regexps {
		if re.MatchString(s) {
			return true
		}
	}
	for i := range m.globs {
		if m.globs[i].match(s) {
			return true
		}
	}
	return false
}

// match reports whether s matches the pattern.
func (g *glob) match(s string) bool {
	if g.segs == nil {
		ok, _ := path.Match(g.pattern, s) // the pattern was checked by compileGlob
		return ok
	}
	return matchSegments(g.segs, s)
}
