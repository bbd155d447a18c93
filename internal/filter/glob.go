package filter

import (
	"path"
	"strings"
)

// matchSegments reports whether name matches the pattern split at "/", where a "**" segment matches zero or more whole segments.
func matchSegments(segs []string, name string) bool {
	// ni is where name's next segment starts; end means none is left.
	end := len(name) + 1
	pi, ni := 0, 0
	// The last "**" seen and where it started to swallow segments.
	starPi, starNi := -1, 0
	for pi < len(segs) || ni < end {
		if pi < len(segs) {
			if segs[pi] == "**" {
				starPi, starNi = pi, ni
				pi++
				continue
			}
			if ni < end {
				seg, next := segment(name, ni)
				if ok, _ := path.Match(segs[pi], seg); ok {
					pi, ni = pi+1, next
					continue
				}
			}
		}
		// A mismatch: let the last "**" take one more segment and retry after it.
		if starPi < 0 || starNi >= end {
			return false
		}
		_, starNi = segment(name, starNi)
		pi, ni = starPi+1, starNi
	}
	return true
}

// segment returns the segment of name that starts at i and where the next one starts.
func segment(name string, i int) (string, int) {
	j := strings.IndexByte(name[i:], '/')
	if j < 0 {
		return name[i:], len(name) + 1
	}
	return name[i : i+j], i + j + 1
}
