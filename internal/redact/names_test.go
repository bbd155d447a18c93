package redact

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClassify(t *testing.T) {
	for name, want := range map[string]nameKind{
		"--password":              kindSecret,
		"-passwd":                 kindSecret,
		"pwd":                     kindSecret,
		"MYSQL_PWD":               kindSecret,
		"--gpg-passphrase":        kindSecret,
		"client_secret":           kindSecret,
		"--credentials":           kindSecret,
		"--token":                 kindSecret,
		"--authtoken":             kindSecret,
		"--auth":                  kindSecret,
		"--oauth":                 kindSecret,
		"--basic-auth":            kindSecret,
		"--oauth2-token":          kindSecret,
		"--token2":                kindSecret,
		"--api-key":               kindSecret,
		"--api_key":               kindSecret,
		"--apikey":                kindSecret,
		"--apiKey":                kindSecret,
		"--api-keys":              kindSecret,
		"--access-key":            kindSecret,
		"accessKey":               kindSecret,
		"--private-key":           kindSecret,
		"AWS_SECRET_ACCESS_KEY":   kindSecret,
		"STRIPE_KEY":              kindSecret,
		"SECRETKEY":               kindSecret,
		"x-auth-token":            kindSecret,
		"spring.datasource.pwd":   kindSecret,
		"--password-account":      kindSecret,
		"--token-account":         kindSecret,
		"-passin":                 kindSecret,
		"-u":                      kindUserPass,
		"-U":                      kindUserPass,
		"--user":                  kindUserPass,
		"--proxy-user":            kindUserPass,
		"":                        kindNone,
		"--":                      kindNone,
		"--author":                kindNone,
		"GIT_AUTHOR_NAME":         kindNone,
		"--tokenizer":             kindNone,
		"--max-tokens":            kindNone,
		"--key":                   kindNone, // only upper-case variables end in a secret KEY
		"--sort-key":              kindNone,
		"--monkey":                kindNone,
		"--password-file":         kindNone,
		"--passwordFile":          kindNone,
		"--passwordfile":          kindNone,
		"--secretsdir":            kindNone,
		"PASSWORD_FILE":           kindNone,
		"--passphrase-fd":         kindNone,
		"--password-stdin":        kindNone,
		"--token-ttl":             kindNone,
		"--auth-type":             kindNone,
		"credential.helper":       kindNone,
		"PasswordAuthentication":  kindNone,
		"PubkeyAuthentication":    kindNone,
		"--no-password":           kindNone,
		"--no-auth":               kindNone,
		"--anyauth":               kindNone,
		"--proxy-anyauth":         kindNone,
		"PWD":                     kindNone,
		"OLDPWD":                  kindNone,
		"--username":              kindNone,
		"user":                    kindNone, // only the dashed flags take user:password
		"--authentication-method": kindNone,
	} {
		require.Equal(t, want, classify(name), "%q", name)
	}
}

func TestSegments(t *testing.T) {
	var got []string
	it := segments{s: "--x-apiKey_OAUTH2.tokenValue\xffé"}
	for seg, ok := it.next(); ok; seg, ok = it.next() {
		got = append(got, seg)
	}
	require.Equal(t, []string{"x", "api", "Key", "OAUTH2", "token", "Value"}, got)
}
