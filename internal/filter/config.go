package filter

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"go.opentelemetry.io/collector/confmap"
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

// keyRoot is the key the receiver nests Config under; error messages start with it.
const keyRoot = "filter"

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

var _ confmap.Validator = (*Config)(nil)

// Validate checks the values without I/O, naming each bad key from "filter::".
func (c *Config) Validate() error {
	_, err := compile(*c)
	return err
}

// compile turns c into a Filter, or reports every problem it finds.
func compile(c Config) (*Filter, error) {
	var errs []error
	f := &Filter{containers: c.Containers}
	if f.containers == "" {
		f.containers = AnyContainer
	}
	f.include, errs = compileBlock(c.Include, keyRoot+"::include", errs)
	f.exclude, errs = compileBlock(c.Exclude, keyRoot+"::exclude", errs)
	switch f.containers {
	case AnyContainer, HostOnly, ContainersOnly:
	default:
		errs = append(errs, fmt.Errorf("%s::containers: unknown mode %q; use any, host or containers", keyRoot, c.Containers))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return f, nil
}

// compileBlock compiles one include or exclude block found at key.
func compileBlock(mc *MatchConfig, key string, errs []error) (*block, []error) {
	if mc == nil {
		return nil, errs
	}
	if len(mc.Names) == 0 && len(mc.Paths) == 0 && len(mc.UIDs) == 0 {
		return nil, append(errs, fmt.Errorf("%s: lists no names, paths or uids", key))
	}
	mt := mc.MatchType
	switch mt {
	case "":
		mt = Strict
	case Strict, Regexp, Glob:
	default:
		// Without a known type the patterns cannot be checked.
		return nil, append(errs, fmt.Errorf("%s::match_type: unknown match type %q; use strict, regexp or glob", key, mc.MatchType))
	}
	b := &block{}
	if len(mc.Names) > 0 {
		b.names, errs = compileList(mt, mc.Names, key+"::names", false, errs)
	}
	if len(mc.Paths) > 0 {
		b.paths, errs = compileList(mt, mc.Paths, key+"::paths", true, errs)
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
