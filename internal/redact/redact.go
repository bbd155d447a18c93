package redact

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// mask is what every secret becomes.
const mask = "***"

// Redactor replaces secret values in argument lists; safe for concurrent use, allocation-free when nothing matches; nil applies the default rules.
type Redactor struct {
	extra []extraRule
}

// extraRule is a configured pattern and the index of its "secret" group, or -1.
type extraRule struct {
	re     *regexp.Regexp
	secret int
}

// New builds a Redactor with the default rules plus extra Go regular expressions; bad ones are reported as redact_patterns[i], joined.
func New(extra []string) (*Redactor, error) {
	r := &Redactor{}
	var errs []error
	for i, p := range extra {
		re, err := regexp.Compile(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("redact_patterns[%d]: %w", i, err))
			continue
		}
		r.extra = append(r.extra, extraRule{re: re, secret: re.SubexpIndex("secret")})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// Args returns args with secrets replaced by "***" and whether any were; it never modifies args and returns args itself when nothing matches.
func (r *Redactor) Args(args []string) (out []string, redacted bool) {
	var (
		spans []span
		owner nameKind // what the previous argument, a lone flag, says of this one
	)
	for i, arg := range args {
		spans = spans[:0]
		if owner != kindNone && !isFlagLike(arg) {
			spans = appendValue(arg, 0, len(arg), owner, spans)
		}
		owner = flagKind(arg)
		spans = scanDefault(arg, spans)
		if r != nil {
			spans = r.scanExtra(arg, spans)
		}
		masked, changed := arg, false
		if len(spans) > 0 {
			masked, changed = apply(arg, spans)
		}
		if changed && out == nil {
			out = make([]string, len(args))
			copy(out, args[:i])
		}
		if out != nil {
			out[i] = masked
		}
	}
	if out == nil {
		return args, false
	}
	return out, true
}

// scanExtra appends the matches of the configured patterns.
func (r *Redactor) scanExtra(s string, spans []span) []span {
	for _, x := range r.extra {
		// MatchString allocates nothing, so arguments that do not match
		// stay on the allocation-free path.
		if !x.re.MatchString(s) {
			continue
		}
		for _, m := range x.re.FindAllStringSubmatchIndex(s, -1) {
			start, end := m[0], m[1]
			if x.secret >= 0 {
				start, end = m[2*x.secret], m[2*x.secret+1]
			}
			// A "secret" group that took no part in the match masks nothing.
			if start >= 0 && end > start {
				spans = append(spans, span{start, end})
			}
		}
	}
	return spans
}

// apply masks the spans of s, merged where they overlap or touch, and says whether s changed.
func apply(s string, spans []span) (string, bool) {
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	// Touching spans become one mask, or masking twice would grow them.
	merged := spans[:1]
	for _, sp := range spans[1:] {
		last := &merged[len(merged)-1]
		if sp.start <= last.end {
			last.end = max(last.end, sp.end)
			continue
		}
		merged = append(merged, sp)
	}
	changed := false
	for _, sp := range merged {
		if s[sp.start:sp.end] != mask {
			changed = true
			break
		}
	}
	if !changed {
		return s, false
	}
	var b strings.Builder
	b.Grow(len(s))
	prev := 0
	for _, sp := range merged {
		b.WriteString(s[prev:sp.start])
		b.WriteString(mask)
		prev = sp.end
	}
	b.WriteString(s[prev:])
	return b.String(), true
}
