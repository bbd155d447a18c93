package redact

import "strings"

// nameKind says what the value of a flag, variable or key holds.
type nameKind uint8

const (
	kindNone     nameKind = iota // not a secret
	kindSecret                   // the whole value is a secret
	kindUserPass                 // the value is user:password; only the password is secret
)

// secretWords make a name secret wherever they occur in one of its segments.
var secretWords = [...]string{"password", "passwd", "passphrase", "secret", "credential"}

// secretEndings make a name secret when a segment ends with them, so that
// "oauth" and "authtoken" count but "author" and "tokenizer" do not.
var secretEndings = [...]string{
	"token", "auth", "pwd",
	"apikey", "apikeys", "accesskey", "accesskeys", "privatekey", "privatekeys",
}

// notSecretEndings are segments that end with a secret ending yet name
// boolean flags, whose next argument is no value of theirs.
var notSecretEndings = [...]string{"anyauth", "noauth"}

// keyQualifiers make a following "key" segment secret: api-key, accessKey.
var keyQualifiers = [...]string{"api", "access", "private"}

// referenceEndings, ending a name's last segment, say that the value points
// at a secret or describes it rather than holding it: --password-file,
// --token-ttl, PasswordAuthentication.
var referenceEndings = [...]string{
	"file", "path", "dir", "directory", "fd", "stdin", "env",
	"url", "uri", "endpoint", "helper", "command", "cmd", "prompt",
	"name", "type", "method", "mode", "authentication",
	"length", "len", "size", "count", "limit", "ttl", "timeout",
}

// userPassFlags take a user:password value, as curl's do.
var userPassFlags = [...]string{"-u", "-U", "--user", "--proxy-user"}

// secretFlags take a secret though their names do not say so: openssl's
// -passin pass:x.
var secretFlags = [...]string{"-pass", "-passin", "-passout"}

// shellDirectoryNames are the shell's working-directory variables, which
// merely look like MYSQL_PWD.
var shellDirectoryNames = [...]string{"PWD", "OLDPWD"}

// classify says whether name, a flag with its dashes, a variable or a key,
// introduces a secret value.
func classify(name string) nameKind {
	for _, f := range userPassFlags {
		if name == f {
			return kindUserPass
		}
	}
	for _, f := range secretFlags {
		if name == f {
			return kindSecret
		}
	}
	bare := strings.TrimLeft(name, "-")
	dashed := len(bare) < len(name)
	if bare == "" {
		return kindNone
	}
	if !dashed {
		for _, n := range shellDirectoryNames {
			if bare == n {
				return kindNone
			}
		}
	}
	var (
		it         = segments{s: bare}
		prev, last string
		secret     bool
		first      = true
	)
	for seg, ok := it.next(); ok; seg, ok = it.next() {
		if first && dashed && strings.EqualFold(seg, "no") {
			return kindNone // --no-password and the like are booleans
		}
		if !secret && secretSegment(seg, prev) {
			secret = true
		}
		first, prev, last = false, seg, seg
	}
	if !secret && !dashed && isEnvName(bare) && hasSuffixFold(trimDigits(last), "key") {
		secret = true // API_KEY, STRIPE_KEY, SECRETKEY
	}
	if !secret {
		return kindNone
	}
	if isReference(trimDigits(last)) {
		return kindNone
	}
	return kindSecret
}

// isReference says whether a name's last segment is a reference ending,
// alone (file) or after a secret word (passwordfile, but not account).
func isReference(last string) bool {
	for _, e := range referenceEndings {
		if hasSuffixFold(last, e) {
			rest := last[:len(last)-len(e)]
			if rest == "" || secretSegment(rest, "") {
				return true
			}
		}
	}
	return false
}

// secretSegment says whether seg, which follows prev in a name, is secret.
func secretSegment(seg, prev string) bool {
	for _, w := range secretWords {
		if containsFold(seg, w) {
			return true
		}
	}
	t := trimDigits(seg)
	for _, e := range secretEndings {
		if hasSuffixFold(t, e) {
			for _, n := range notSecretEndings {
				if hasSuffixFold(t, n) {
					return false
				}
			}
			return true
		}
	}
	if strings.EqualFold(t, "key") || strings.EqualFold(t, "keys") {
		p := trimDigits(prev)
		for _, q := range keyQualifiers {
			if hasSuffixFold(p, q) {
				return true
			}
		}
	}
	return false
}

// segments splits a name into words at every byte that is not an ASCII
// letter or digit and where a lower-case letter meets an upper-case one.
type segments struct {
	s string
	i int
}

// next returns the next segment, or false at the end.
func (it *segments) next() (string, bool) {
	for it.i < len(it.s) && !isAlnum(it.s[it.i]) {
		it.i++
	}
	if it.i == len(it.s) {
		return "", false
	}
	start := it.i
	it.i++
	for it.i < len(it.s) && isAlnum(it.s[it.i]) && !(isLower(it.s[it.i-1]) && isUpper(it.s[it.i])) {
		it.i++
	}
	return it.s[start:it.i], true
}

// isEnvName says whether s looks like an environment variable: upper case,
// digits and underscores, with at least one letter.
func isEnvName(s string) bool {
	letter := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isUpper(c):
			letter = true
		case isDigit(c) || c == '_':
		default:
			return false
		}
	}
	return letter
}

// trimDigits drops the digits that end s: oauth2, token1.
func trimDigits(s string) string {
	for len(s) > 0 && isDigit(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// hasSuffixFold is strings.HasSuffix ignoring ASCII case.
func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// containsFold is strings.Contains ignoring ASCII case, for a lower-case sub.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// isLower says whether c is an ASCII lower-case letter.
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }

// isUpper says whether c is an ASCII upper-case letter.
func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

// isDigit says whether c is an ASCII digit.
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isAlnum says whether c is an ASCII letter or digit.
func isAlnum(c byte) bool { return isLower(c) || isUpper(c) || isDigit(c) }
