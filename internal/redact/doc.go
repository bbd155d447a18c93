// Package redact masks the secrets that command lines carry, so that the
// receiver can report them without leaking passwords and tokens. Every
// secret becomes "***"; the rest of the argument is kept.
//
// A secret name is a flag, variable, key or header name that, ignoring case,
// contains password, passwd, passphrase, secret or credential anywhere, or
// has a word ending in token, auth, pwd, apikey, accesskey or privatekey, or
// a word key after api, access or private. Words split at anything but a
// letter or digit and where lower case meets upper case, so api-key, api_key,
// apiKey, OAUTH_TOKEN and oauth-token are secret names and author,
// tokenizer and max-tokens are not. An upper-case variable name whose last
// word ends in KEY (STRIPE_KEY) is secret too, and so are openssl's -pass,
// -passin and -passout. A name is not secret when:
//
//   - its last word is file, path, dir, fd, stdin, env, url, endpoint,
//     helper, command, prompt, name, type, method, mode, authentication, a
//     length, a size, a count, a limit, a ttl or a timeout, alone or glued to
//     a secret word (passwordfile): the value points at the secret or
//     describes it (--password-file=/run/secrets/db, --token-ttl=1h,
//     PasswordAuthentication=no);
//   - it is a negated flag (--no-password) or curl's --anyauth, a boolean;
//   - it is the shell's PWD or OLDPWD.
//
// The default rules, applied to every argument:
//
//   - name=value, -name=value, --name=value with a secret name: the value is
//     masked. A name that starts the argument owns the rest of it
//     (--password=a b); a name inside it (sh -c "export TOKEN=x; run",
//     ?access_token=x&y=z) owns one shell word or quoted string.
//   - -name or --name with a secret name, alone in its argument: the next
//     argument is masked, unless it looks like another flag (-x, --xyz, --)
//     or is "-" for standard input. A password that starts with a dash and
//     a letter is therefore kept, and a boolean such as mysql's bare
//     --password masks the database name that follows it; masking the next
//     flag instead would hide the command's options. The same holds for a
//     flag and the word after it inside one argument (sh -c "... --password x").
//   - -u, -U, --user, --proxy-user followed by user:password (curl): the
//     password is masked. A value without a colon is a user name and is kept,
//     and so is a numeric uid:gid (docker run -u 1000:1000).
//   - scheme://user:password@host: the password is masked, anywhere in the
//     argument. The last @ before the path ends the user information.
//   - Authorization, Proxy-Authorization, Cookie or a secret name followed by
//     a colon, as in the HTTP header "Authorization: Bearer x": the value,
//     scheme included, is masked up to the end of the argument or of the
//     quoted string it sits in.
//   - "key": value in JSON, with a secret key: the value is masked.
//
// Values that merely look secret are not masked: a bare word such as
// password is a positional argument, and -p is a port as often as a
// password (mysql's -pSECRET is not recognised). Names are matched in ASCII;
// other bytes, valid UTF-8 or not, are copied as they are.
//
// Extra patterns from the configuration mask their whole match, or only
// their capture group named "secret" when they have one. Masking the default
// rules' output again changes nothing; extra patterns that match "***" can
// break that.
package redact
