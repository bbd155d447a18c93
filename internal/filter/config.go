package filter

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// MatchType is how names and paths are compared.
type MatchType string

// Match types accepted in match_type.
const (
	Strict MatchType = "strict"
	Regexp MatchType = "regexp"
	Glob   MatchType = "glob"
)

// ContainerMode selects processes by where they run.
type ContainerMode string

// Container modes accepted in containers.
const (
	AnyContainer   ContainerMode = "any"
	HostOnly       ContainerMode = "host"
	ContainersOnly ContainerMode = "containers"
)

// MatchConfig is one include or exclude block.
type MatchConfig struct {
	// MatchType is how Names and Paths are compared: strict, regexp or glob.
	// Default strict.
	MatchType MatchType `mapstructure:"match_type"`
	// Names are executable base names, such as "curl". Default none.
	Names []string `mapstructure:"names"`
	// Paths are executable paths, such as "/usr/bin/*" with glob. Default none.
	Paths []string `mapstructure:"paths"`
	// UIDs are effective user ids. Default none.
	UIDs []uint32 `mapstructure:"uids"`
}

// Config is the filter part of the receiver's configuration.
type Config struct {
	// Include, when set, keeps only the processes that match it. Default unset.
	Include *MatchConfig `mapstructure:"include"`
	// Exclude, when set, drops the processes that match it. Default unset.
	Exclude *MatchConfig `mapstructure:"exclude"`
	// Containers is any, host or containers. Default any.
	Containers ContainerMode `mapstructure:"containers"`
}

// Every type checks its own values, and an error names only the key below
// its own: the collector's recursive pass over the receiver's configuration
// calls each Validate and names the keys above (see the receiver's
// config.go).

// Validate checks the mode.
func (m ContainerMode) Validate() error {
	switch m {
	case "", AnyContainer, HostOnly, ContainersOnly:
		return nil
	}
	return fmt.Errorf("unknown mode %q; use any, host or containers", string(m))
}

// Validate checks the match type.
func (mt MatchType) Validate() error {
	switch mt {
	case "", Strict, Regexp, Glob:
		return nil
	}
	return fmt.Errorf("unknown match type %q; use strict, regexp or glob", string(mt))
}

// Validate checks that the block lists something, and its names and paths
// against its match type (whose own error MatchType.Validate reports).
func (mc *MatchConfig) Validate() error {
	if mc.MatchType.Validate() != nil {
		return nil // the patterns cannot be checked without a known type
	}
	_, errs := compileBlock(mc, "", nil)
	return errors.Join(errs...)
}

// compile turns c into a Filter, or reports every problem it finds, each
// naming its key below the filter's.
func compile(c Config) (*Filter, error) {
	var errs []error
	f := &Filter{containers: c.Containers}
	if f.containers == "" {
		f.containers = AnyContainer
	}
	if err := c.Containers.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("containers: %w", err))
	}
	f.include, errs = compileBlock(c.Include, "include", errs)
	f.exclude, errs = compileBlock(c.Exclude, "exclude", errs)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return f, nil
}

// keyOf names the key name below key ("" for the block's own level).
func keyOf(key, name string) string {
	if key == "" {
		return name
	}
	return key + "::" + name
}

// compileBlock compiles one include or exclude block found at key.
func compileBlock(mc *MatchConfig, key string, errs []error) (*block, []error) {
	if mc == nil {
		return nil, errs
	}
	if len(mc.Names) == 0 && len(mc.Paths) == 0 && len(mc.UIDs) == 0 {
		if key == "" {
			return nil, append(errs, errors.New("lists no names, paths or uids"))
		}
		return nil, append(errs, fmt.Errorf("%s: lists no names, paths or uids", key))
	}
	mt := mc.MatchType
	if err := mt.Validate(); err != nil {
		// Without a known type the patterns cannot be checked.
		return nil, append(errs, fmt.Errorf("%s: %w", keyOf(key, "match_type"), err))
	}
	if mt == "" {
		mt = Strict
	}
	b := &block{}
	if len(mc.Names) > 0 {
		b.names, errs = compileList(mt, mc.Names, keyOf(key, "names"), false, errs)
	}
	if len(mc.Paths) > 0 {
		b.paths, errs = compileList(mt, mc.Paths, keyOf(key, "paths"), true, errs)
	}
	if len(mc.UIDs) > 0 {
		b.uids = make(map[uint32]struct{}, len(mc.UIDs))
		for _, uid := range mc.UIDs {
			b.uids[uid] = struct{}{}
		}
	}
	return b, errs
}

// compileList compiles the names (isPath false) or paths of a block found at key.
func compileList(mt MatchType, list []string, key string, isPath bool, errs []error) (*matcher, []error) {
	m := &matcher{}
	if mt == Strict {
		m.strict = make(map[string]struct{}, len(list))
	}
	for i, s := range list {
		at := fmt.Sprintf("%s[%d]", key, i)
		if s == "" {
			errs = append(errs, fmt.Errorf("%s: must not be empty", at))
			continue
		}
		if !isPath && mt != Regexp && strings.Contains(s, "/") {
			errs = append(errs, fmt.Errorf("%s: %q contains \"/\"; names match the executable's base name, put full paths under paths", at, s))
			continue
		}
		switch mt {
		case Strict:
			m.strict[s] = struct{}{}
		case Regexp:
			re, err := regexp.Compile(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", at, err))
				continue
			}
			m.regexps = append(m.regexps, re)
		case Glob:
			g, err := compileGlob(s, isPath)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", at, err))
				continue
			}
			m.globs = append(m.globs, g)
		}
	}
	return m, errs
}

// compileGlob checks pattern and splits a path pattern that uses "**" into segments.
func compileGlob(pattern string, isPath bool) (glob, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return glob{}, fmt.Errorf("invalid glob %q: %w", pattern, err)
	}
	if !isPath || !strings.Contains(pattern, "**") {
		return glob{pattern: pattern}, nil
	}
	segs := strings.Split(pattern, "/")
	for _, seg := range segs {
		if seg != "**" && strings.Contains(seg, "**") {
			return glob{}, fmt.Errorf("invalid glob %q: \"**\" must be a whole path segment, as in \"/opt/**/bin/*\"", pattern)
		}
		if _, err := path.Match(seg, ""); err != nil {
			// An escaped "/" that the split cut in two.
			return glob{}, fmt.Errorf("invalid glob %q: %w", pattern, err)
		}
	}
	return glob{pattern: pattern, segs: segs}, nil
}
