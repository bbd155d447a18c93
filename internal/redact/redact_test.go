package redact

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// same marks a case whose output is its input, untouched.
var same []string

func TestArgs(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string // same when nothing is redacted
	}{
		// name=value
		{"long flag", []string{"app", "--password=hunter2"}, []string{"app", "--password=***"}},
		{"single dash flag", []string{"-password=x"}, []string{"-password=***"}},
		{"no dash", []string{"password=x"}, []string{"password=***"}},
		{"passwd", []string{"--passwd=x"}, []string{"--passwd=***"}},
		{"pwd", []string{"--db-pwd=x"}, []string{"--db-pwd=***"}},
		{"client secret", []string{"--client-secret=x"}, []string{"--client-secret=***"}},
		{"token", []string{"--token=x"}, []string{"--token=***"}},
		{"api-key", []string{"--api-key=x"}, []string{"--api-key=***"}},
		{"api_key", []string{"--api_key=x"}, []string{"--api_key=***"}},
		{"apikey", []string{"--apikey=x"}, []string{"--apikey=***"}},
		{"access keys", []string{"--access-key=a", "--access_key=b", "--accesskey=c"}, []string{"--access-key=***", "--access_key=***", "--accesskey=***"}},
		{"private key", []string{"--private_key=x"}, []string{"--private_key=***"}},
		{"auth", []string{"--auth=me:pw"}, []string{"--auth=***"}},
		{"auth-token", []string{"--auth-token=x"}, []string{"--auth-token=***"}},
		{"oauth-token", []string{"--oauth-token=x"}, []string{"--oauth-token=***"}},
		{"credentials", []string{"--credentials=x"}, []string{"--credentials=***"}},
		{"camel case", []string{"--authToken=x", "-clientSecret=y"}, []string{"--authToken=***", "-clientSecret=***"}},
		{"upper case flag", []string{"--PASSWORD=x", "--Api-Key=y"}, []string{"--PASSWORD=***", "--Api-Key=***"}},
		{"java property", []string{"java", "-Dspring.datasource.password=x", "-jar", "a.jar"}, []string{"java", "-Dspring.datasource.password=***", "-jar", "a.jar"}},
		{"value owns the argument", []string{"--password=a=b c"}, []string{"--password=***"}},
		{"empty value", []string{"--password="}, same},
		{"already masked", []string{"--password=***", "--token", "***"}, same},

		// -name value
		{"separate value", []string{"app", "--password", "hunter2", "-v"}, []string{"app", "--password", "***", "-v"}},
		{"separate single dash", []string{"-token", "x"}, []string{"-token", "***"}},
		{"separate api key", []string{"--API-KEY", "x"}, []string{"--API-KEY", "***"}},
		{"next is a flag", []string{"--password", "--verbose", "-x"}, same},
		{"next is end of flags", []string{"--password", "--", "file"}, same},
		{"next is stdin", []string{"--password", "-"}, same},
		{"next is a dash digit", []string{"--password", "-5x"}, []string{"--password", "***"}},
		{"flag is last", []string{"app", "--password"}, same},
		{"empty next", []string{"--password", ""}, same},
		{"boolean flag masks the next word", []string{"mysql", "--password", "mydb"}, []string{"mysql", "--password", "***"}},
		{"password-stdin is a boolean", []string{"docker", "login", "--password-stdin", "registry.test"}, same},
		{"negated flag", []string{"psql", "--no-password", "db"}, same},
		{"anyauth", []string{"curl", "--anyauth", "https://example.test"}, same},
		{"flag inside an argument", []string{"node app.js --password hunter2 --port 80"}, []string{"node app.js --password *** --port 80"}},
		{"quoted inside an argument", []string{"sh", "-c", "mysql --password 'a b' db"}, []string{"sh", "-c", "mysql --password '***' db"}},
		{"flag then flag inside an argument", []string{"sh", "-c", "psql --password --host db"}, same},

		// URLs
		{"postgres url", []string{"psql", "postgres://app:s3cret@db:5432/x"}, []string{"psql", "postgres://app:***@db:5432/x"}},
		{"https url", []string{"https://u:p@example.test"}, []string{"https://u:***@example.test"}},
		{"url in a flag", []string{"--dsn=mysql://root:pw@db/x?tls=1"}, []string{"--dsn=mysql://root:***@db/x?tls=1"}},
		{"at in password", []string{"mysql://root:p@ss@db/x"}, []string{"mysql://root:***@db/x"}},
		{"empty user", []string{"redis://:pw@cache:6379"}, []string{"redis://:***@cache:6379"}},
		{"url in a script", []string{"sh", "-c", "psql postgres://a:b@h/db && echo ok"}, []string{"sh", "-c", "psql postgres://a:***@h/db && echo ok"}},
		{"two urls", []string{"a://u:1@h b://v:2@i"}, []string{"a://u:***@h b://v:***@i"}},
		{"url without password", []string{"https://u@example.test", "ssh://git@host:22/r"}, same},
		{"at in path", []string{"https://host:8443/@scope/pkg", "https://example.test/@user"}, same},
		{"query token", []string{"https://x.test/cb?code=1&access_token=abc&x=2"}, []string{"https://x.test/cb?code=1&access_token=***&x=2"}},

		// environment-style assignments
		{"aws secret", []string{"env", "AWS_SECRET_ACCESS_KEY=wJalr", "aws", "s3", "ls"}, []string{"env", "AWS_SECRET_ACCESS_KEY=***", "aws", "s3", "ls"}},
		{"env names", []string{"GITHUB_TOKEN=a", "DB_PASSWORD=b", "MYSQL_PWD=c", "API_KEY=d", "STRIPE_KEY=e", "CREDENTIAL=f", "BASIC_AUTH=g", "PGPASSWORD=h"},
			[]string{"GITHUB_TOKEN=***", "DB_PASSWORD=***", "MYSQL_PWD=***", "API_KEY=***", "STRIPE_KEY=***", "CREDENTIAL=***", "BASIC_AUTH=***", "PGPASSWORD=***"}},
		{"export in a script", []string{"sh", "-c", "export TOKEN=abc; run"}, []string{"sh", "-c", "export TOKEN=***; run"}},
		{"two exports", []string{"A_TOKEN=a B_SECRET=b run"}, []string{"A_TOKEN=***"}},
		{"assignment mid script", []string{"sh", "-c", "cd /x && GITHUB_TOKEN=abc gh pr list"}, []string{"sh", "-c", "cd /x && GITHUB_TOKEN=*** gh pr list"}},
		{"quoted export", []string{"sh", "-c", `export TOKEN="a b"; run`}, []string{"sh", "-c", `export TOKEN="***"; run`}},
		{"mount options", []string{"mount", "-o", "username=u,password=p", "//srv/s"}, []string{"mount", "-o", "username=u,password=***", "//srv/s"}},
		{"author variable", []string{"GIT_AUTHOR_NAME=me", "PWD=/home/me", "OLDPWD=/tmp"}, same},
		{"key only ends upper-case names", []string{"sort", "--key=2", "--sort-key=name", "MONKEY_BUSINESS=1"}, same},

		// headers and user:password
		{"bearer header", []string{"curl", "-H", "Authorization: Bearer xyz", "https://x.test"}, []string{"curl", "-H", "Authorization: ***", "https://x.test"}},
		{"basic header", []string{"-H", "Authorization: Basic eHl6"}, []string{"-H", "Authorization: ***"}},
		{"header case", []string{"authorization:bearer xyz", "PROXY-AUTHORIZATION: Basic x"}, []string{"authorization:***", "PROXY-AUTHORIZATION: ***"}},
		{"header glued to -H", []string{"-HAuthorization: Bearer x"}, []string{"-HAuthorization: ***"}},
		{"header in a script", []string{"sh", "-c", "curl -H 'Authorization: Bearer x' https://x.test"}, []string{"sh", "-c", "curl -H 'Authorization: ***' https://x.test"}},
		{"api key header", []string{"-H", "X-Api-Key: abc", "-H", "Cookie: s=1"}, []string{"-H", "X-Api-Key: ***", "-H", "Cookie: ***"}},
		{"git extra header", []string{"git", "-c", "http.extraHeader=Authorization: Bearer x", "fetch"}, []string{"git", "-c", "http.extraHeader=Authorization: ***", "fetch"}},
		{"empty header", []string{"Authorization:", "Authorization: "}, same},
		{"openssl pass", []string{"openssl", "pkcs12", "-passin", "pass:x", "-passout", "env:P"}, []string{"openssl", "pkcs12", "-passin", "***", "-passout", "***"}},
		{"curl user", []string{"curl", "-u", "user:pass", "https://x.test"}, []string{"curl", "-u", "user:***", "https://x.test"}},
		{"curl long user", []string{"--user", "a:b:c", "--user=c:d", "--proxy-user", "p:q"}, []string{"--user", "a:***", "--user=c:***", "--proxy-user", "p:***"}},
		{"curl user in a script", []string{"sh", "-c", "curl -u me:pw x.test"}, []string{"sh", "-c", "curl -u me:*** x.test"}},
		{"user name alone", []string{"sudo", "-u", "postgres", "psql"}, same},
		{"uid and gid", []string{"docker", "run", "-u", "1000:1000", "img"}, same},
		{"python unbuffered", []string{"python3", "-u", "-m", "http.server"}, same},
		{"json body", []string{"-d", `{"password":"x","user":"y", "api_key": 12}`}, []string{"-d", `{"password":"***","user":"y", "api_key": ***}`}},
		{"json escaped quote", []string{`{"token": "a\"b", "n": 1}`}, []string{`{"token": "***", "n": 1}`}},

		// not secrets
		{"author", []string{"git", "log", "--author=x", "--author", "me"}, same},
		{"tokenizer", []string{"--tokenizer=bert", "--max-tokens=100", "--tokens", "5"}, same},
		{"password file", []string{"--password-file=/run/secrets/x", "--passwordFile", "/x", "PASSWORD_FILE=/run/secrets/db"}, same},
		{"bare word", []string{"passwd", "password", "token", "secret"}, same},
		{"ssh option", []string{"ssh", "-o", "PasswordAuthentication=no", "-o", "PubkeyAuthentication=yes", "host"}, same},
		{"descriptions of secrets", []string{"--auth-type=basic", "--token-ttl", "1h", "--secret-name=db", "--passphrase-fd", "0"}, same},
		{"git credential helper", []string{"git", "-c", "credential.helper=store", "push"}, same},
		{"image tag", []string{"docker", "pull", "registry.test/auth:latest", "example.test:5000/token:1"}, same},
		{"prompt text", []string{"--prompt=Enter password: "}, same},

		// bytes
		{"nil", nil, same},
		{"empty list", []string{}, same},
		{"empty args", []string{"", "", ""}, same},
		{"unicode kept", []string{"écho", "--nom=日本語", "пароль=x"}, same},
		{"unicode value", []string{"--password=pässwört", "--token", "秘密"}, []string{"--password=***", "--token", "***"}},
		{"invalid utf-8 kept", []string{"\xff\xfe", "--x=\x80", "a\xc3"}, same},
		{"invalid utf-8 around a secret", []string{"\xff--token=abc\xfe def", "--password", "\xc3\x28"}, []string{"\xff--token=*** def", "--password", "***"}},
		{"invalid utf-8 in a url", []string{"x://\xff:\xfe@h\xff"}, []string{"x://\xff:***@h\xff"}},
	}
	r, err := New(nil)
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			got, redacted := r.Args(tt.in)
			require.Equal(t, in, tt.in, "input modified")
			if tt.want == nil {
				require.False(t, redacted)
				require.Equal(t, tt.in, got)
				if len(tt.in) > 0 {
					require.Same(t, &tt.in[0], &got[0], "not the input slice")
				}
				return
			}
			require.True(t, redacted)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestHunter2NeverSurvives(t *testing.T) {
	lines := [][]string{
		{"app", "--password=hunter2"},
		{"app", "--password", "hunter2"},
		{"env", "PASSWORD=hunter2", "app"},
		{"mysql", "mysql://root:hunter2@db/x"},
		{"curl", "-H", "Authorization: Bearer hunter2", "https://x.test"},
		{"sh", "-c", "curl -H 'Authorization: Bearer hunter2' https://x.test"},
		{"curl -H 'Authorization: Bearer hunter2' https://x.test"},
	}
	all := slices.Concat(lines...)
	r, err := New(nil)
	require.NoError(t, err)
	for _, args := range append(lines, all) {
		out, redacted := r.Args(args)
		require.True(t, redacted, "%q", args)
		for _, a := range out {
			require.NotContains(t, a, "hunter2", "%q", args)
		}
	}
}

func TestNew(t *testing.T) {
	r, err := New([]string{`sk_live_[0-9a-z]+`, `(?i)pin (?P<secret>\d+)`, `(?P<secret>x)?y`})
	require.NoError(t, err)
	got, redacted := r.Args([]string{"pay", "--stripe=sk_live_abc1", "PIN 1234", "y", "xy"})
	require.True(t, redacted)
	require.Equal(t, []string{"pay", "--stripe=***", "PIN ***", "y", "***y"}, got)

	_, err = New([]string{`ok`, `also ok`, `(`})
	require.ErrorContains(t, err, "redact_patterns[2]: error parsing regexp: ")

	_, err = New([]string{`[`, `ok`, `a**`})
	require.ErrorContains(t, err, "redact_patterns[0]: error parsing regexp: missing closing ]")
	require.ErrorContains(t, err, "redact_patterns[2]: error parsing regexp: invalid nested repetition operator")
}

func TestZeroRedactor(t *testing.T) {
	var r *Redactor
	got, redacted := r.Args([]string{"--token=x"})
	require.True(t, redacted)
	require.Equal(t, []string{"--token=***"}, got)
}

func TestArgsAllocatesNothingWithoutSecrets(t *testing.T) {
	check := func(t *testing.T, r *Redactor) {
		args := typicalArgs()
		allocs := testing.AllocsPerRun(100, func() {
			if _, redacted := r.Args(args); redacted {
				t.Fatal("redacted")
			}
		})
		require.Zero(t, allocs)
	}
	t.Run("default rules", func(t *testing.T) {
		r, err := New(nil)
		require.NoError(t, err)
		check(t, r)
	})
	t.Run("extra pattern", func(t *testing.T) {
		if raceEnabled {
			t.Skip("the race detector makes the regexp machine pool allocate")
		}
		r, err := New([]string{`sk_live_[0-9a-z]+`})
		require.NoError(t, err)
		check(t, r)
	})
}

func TestArgsConcurrent(t *testing.T) {
	r, err := New([]string{`(?P<secret>sk_\w+)`})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				got, _ := r.Args([]string{"--token", "t", "sk_abc", "mysql://u:p@h"})
				assert.Equal(t, []string{"--token", "***", "***", "mysql://u:***@h"}, got)
			}
		})
	}
	wg.Wait()
}

func FuzzArgs(f *testing.F) {
	for _, seed := range []string{
		"",
		"/usr/bin/app\x00--password=hunter2\x00--password\x00hunter2",
		"PASSWORD=hunter2\x00mysql://root:hunter2@db/x\x00-H\x00Authorization: Bearer hunter2",
		"sh\x00-c\x00export TOKEN=abc; curl -H 'Authorization: Bearer x' -u a:b https://u:p@h/?token=a&b=c",
		"curl\x00-u\x00user:pass\x00--user=a:b\x00-u\x001000:1000",
		"-d\x00{\"password\":\"a\\\"b\",\"x\":1, \"api_key\": 12}",
		"\"token --password 'a\"b' \":c",
		"--author=me\x00--tokenizer=bert\x00--password-file=/run/secrets/x\x00password",
		"node app.js --password 'p w' --port 80 ; GITHUB_TOKEN=x gh",
		"\xff--token=\xfe\x00x://\xff:\xfe@h\x00--password\x00-",
		"Authorization: a\"b' --password 'c\"d' \"e\":f",
	} {
		f.Add(seed)
	}
	r, err := New(nil)
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, line string) {
		in := strings.Split(line, "\x00")
		orig := slices.Clone(in)
		out, redacted := r.Args(in)
		require.Equal(t, orig, in, "input modified")
		require.Len(t, out, len(in))
		for i := range in {
			if out[i] != in[i] && !strings.Contains(out[i], mask) {
				t.Fatalf("argument %d changed without a mask: %q -> %q", i, in[i], out[i])
			}
		}
		if !redacted {
			require.Same(t, &in[0], &out[0], "not the input slice")
		}
		again, more := r.Args(out)
		if more {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, out, again)
		}
	})
}

// typicalArgs is an eight-argument command line without secrets.
func typicalArgs() []string {
	return []string{
		"/usr/bin/python3", "-m", "gunicorn", "--workers=4",
		"--bind=0.0.0.0:8000", "--log-level", "info", "app.wsgi:application",
	}
}

func BenchmarkArgs(b *testing.B) {
	r, err := New(nil)
	require.NoError(b, err)
	withSecret := typicalArgs()
	withSecret[3] = "--dsn=postgres://app:s3cret@db:5432/x"
	for _, bc := range []struct {
		name string
		args []string
	}{
		{"no secret", typicalArgs()},
		{"secret", withSecret},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Args(bc.args)
			}
		})
	}
}
