package redact

import "strings"

// span is a half-open byte range of an argument to replace with the mask.
type span struct{ start, end int }

// scanDefault appends to spans the secrets the default rules find inside
// one argument. Every span ends at the end of s or before a byte that cannot
// be part of a name, so masking never joins text into a new match.
func scanDefault(s string, spans []span) []span {
	spans = scanAssignments(s, spans)
	spans = scanColons(s, spans)
	spans = scanURLs(s, spans)
	return scanFlagWords(s, spans)
}

// scanAssignments finds name=value. A name at the start of the argument
// (--password=x, TOKEN=x) owns the rest of it; a name further in (export
// TOKEN=x; run, ?token=x&y=z) owns a shell word or a quoted string.
func scanAssignments(s string, spans []span) []span {
	for off := 0; ; {
		i := strings.IndexByte(s[off:], '=')
		if i < 0 {
			return spans
		}
		eq := off + i
		off = eq + 1
		ns := eq
		for ns > 0 && isNameByte(s[ns-1]) {
			ns--
		}
		if ns == eq {
			continue
		}
		kind := classify(s[ns:eq])
		if kind == kindNone {
			continue
		}
		vs, ve := eq+1, len(s)
		if ns > 0 {
			vs, ve = wordValue(s, vs)
		}
		spans = appendValue(s, vs, ve, kind, spans)
	}
}

// scanColons finds "Name: value" headers whose name is Authorization,
// Cookie or a secret name (X-Api-Key: x, password: x), and JSON members
// whose key is a secret name ("token": "x").
func scanColons(s string, spans []span) []span {
	for off := 0; ; {
		i := strings.IndexByte(s[off:], ':')
		if i < 0 {
			return spans
		}
		c := off + i
		off = c + 1
		k := c
		for k > 0 && isBlank(s[k-1]) {
			k--
		}
		if k > 0 && s[k-1] == '"' {
			spans = jsonMember(s, k-1, c, spans)
			continue
		}
		ns := c
		for ns > 0 && isHeaderByte(s[ns-1]) {
			ns--
		}
		if ns == c {
			continue
		}
		// user:pass@, host:port and /path:tag are URL or image parts.
		if ns > 0 && strings.IndexByte("/@:.", s[ns-1]) >= 0 {
			continue
		}
		if !secretHeader(s[ns:c]) {
			continue
		}
		vs := c + 1
		for vs < len(s) && isBlank(s[vs]) {
			vs++
		}
		ve := vs
		for ve < len(s) && !isHeaderEnd(s[ve]) {
			ve++
		}
		if ve > vs {
			spans = append(spans, span{vs, ve})
		}
	}
}

// jsonMember masks the value of the member whose key ends with the quote at
// q, followed by the colon at c, when the key is a secret name.
func jsonMember(s string, q, c int, spans []span) []span {
	o := strings.LastIndexByte(s[:q], '"')
	// A key of name bytes alone cannot straddle a masked value, whose
	// quotes would be gone the next time round.
	if o < 0 || !allNameBytes(s[o+1:q]) || classify(s[o+1:q]) != kindSecret {
		return spans
	}
	vs := c + 1
	for vs < len(s) && isBlank(s[vs]) {
		vs++
	}
	if vs == len(s) {
		return spans
	}
	ve := vs
	if s[vs] == '"' {
		vs++
		for ve = vs; ve < len(s) && s[ve] != '"'; ve++ {
			if s[ve] == '\\' && ve+1 < len(s) {
				ve++
			}
		}
		ve = min(ve, len(s))
	} else {
		for ve < len(s) && !isWordEnd(s[ve]) && strings.IndexByte(",}]", s[ve]) < 0 {
			ve++
		}
	}
	if ve > vs {
		spans = append(spans, span{vs, ve})
	}
	return spans
}

// scanURLs finds the password of scheme://user:password@host.
func scanURLs(s string, spans []span) []span {
	for off := 0; ; {
		i := strings.Index(s[off:], "://")
		if i < 0 {
			return spans
		}
		start := off + i + 3
		end := start
		for end < len(s) && !isAuthorityEnd(s[end]) {
			end++
		}
		off = end
		// The last @ ends the user information: passwords with an
		// unescaped @ are common, host names with one are not.
		at := strings.LastIndexByte(s[start:end], '@')
		if at < 0 {
			continue
		}
		at += start
		colon := strings.IndexByte(s[start:at], ':')
		if colon < 0 {
			continue
		}
		if ps := start + colon + 1; ps < at {
			spans = append(spans, span{ps, at})
		}
	}
}

// scanFlagWords finds, inside one argument such as the script of sh -c or
// a command line rewritten into one string, a secret flag followed by its
// value: "mysql --password hunter2 db", "curl -u me:pw url".
func scanFlagWords(s string, spans []span) []span {
	for off := 0; ; {
		i := strings.IndexByte(s[off:], '-')
		if i < 0 {
			return spans
		}
		ws := off + i
		we := ws + 1
		for we < len(s) && isNameByte(s[we]) {
			we++
		}
		off = we
		if ws > 0 && !isWordStart(s[ws-1]) || we == len(s) || !isBlank(s[we]) {
			continue
		}
		kind := flagKind(s[ws:we])
		if kind == kindNone {
			continue
		}
		vs := we
		for vs < len(s) && isBlank(s[vs]) {
			vs++
		}
		if vs == len(s) || isFlagLike(s[vs:]) {
			continue
		}
		vs, ve := wordValue(s, vs)
		spans = appendValue(s, vs, ve, kind, spans)
	}
}

// flagKind classifies an argument that is a flag name alone, such as
// --password, whose value is the next argument.
func flagKind(arg string) nameKind {
	if len(arg) < 2 || arg[0] != '-' {
		return kindNone
	}
	body := arg[1:]
	if body[0] == '-' {
		body = body[1:]
	}
	if body == "" || !isLower(body[0]) && !isUpper(body[0]) {
		return kindNone
	}
	if !allNameBytes(body) {
		return kindNone
	}
	return classify(arg)
}

// isFlagLike says whether the value after a secret flag is rather the next
// flag (-x, --xyz, --) or standard input (-), and so is left alone.
func isFlagLike(v string) bool {
	return len(v) > 0 && v[0] == '-' &&
		(len(v) == 1 || isBlank(v[1]) || v[1] == '-' || isLower(v[1]) || isUpper(v[1]))
}

// appendValue appends the secret part of the value s[vs:ve] of a name of
// the given kind.
func appendValue(s string, vs, ve int, kind nameKind, spans []span) []span {
	if kind == kindUserPass {
		v := s[vs:ve]
		colon := strings.IndexByte(v, ':')
		if colon < 0 || isIDPair(v) {
			return spans // a user name alone, or docker's uid:gid
		}
		vs += colon + 1
	}
	if ve > vs {
		spans = append(spans, span{vs, ve})
	}
	return spans
}

// wordValue returns the value that starts at vs inside a longer text: the
// inside of a quoted string, or a shell word.
func wordValue(s string, vs int) (int, int) {
	if vs < len(s) && (s[vs] == '\'' || s[vs] == '"') {
		if q := strings.IndexByte(s[vs+1:], s[vs]); q >= 0 {
			return vs + 1, vs + 1 + q
		}
		return vs + 1, len(s)
	}
	ve := vs
	for ve < len(s) && !isWordEnd(s[ve]) {
		ve++
	}
	return vs, ve
}

// isIDPair says whether v is a numeric uid:gid.
func isIDPair(v string) bool {
	colon := strings.IndexByte(v, ':')
	return colon > 0 && colon < len(v)-1 && allDigits(v[:colon]) && allDigits(v[colon+1:])
}

// allNameBytes says whether every byte of s may be part of a name.
func allNameBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

// allDigits says whether every byte of s is a digit.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// secretHeader says whether a header name is one that carries credentials.
func secretHeader(name string) bool {
	return hasSuffixFold(name, "authorization") || hasSuffixFold(name, "cookie") ||
		classify(name) == kindSecret
}

// isNameByte says whether c may be part of a flag, variable or key name.
func isNameByte(c byte) bool { return isAlnum(c) || c == '-' || c == '_' || c == '.' }

// isHeaderByte says whether c may be part of a header name.
func isHeaderByte(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }

// isBlank says whether c is ASCII white space.
func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// isWordEnd says whether c ends an unquoted shell word.
func isWordEnd(c byte) bool {
	return isBlank(c) || strings.IndexByte(";&|'\"`()<>", c) >= 0
}

// isWordStart says whether a flag may follow c inside an argument.
func isWordStart(c byte) bool { return isBlank(c) || strings.IndexByte(";&|(", c) >= 0 }

// isHeaderEnd says whether c ends a header value: it runs to the end of
// the argument or of the quoted string it sits in.
func isHeaderEnd(c byte) bool { return c == '\'' || c == '"' || c == '\n' || c == '\r' }

// isAuthorityEnd says whether c ends the authority of a URL.
func isAuthorityEnd(c byte) bool {
	return isBlank(c) || strings.IndexByte("/?#'\"`<>", c) >= 0
}
