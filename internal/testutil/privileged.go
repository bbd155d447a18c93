// Package testutil holds helpers shared by procmon's tests.
package testutil

import (
	"os"
	"testing"
)

// RequireEnv is the environment variable that turns a privileged test's skip
// into a failure. CI sets it, so privileged tests cannot silently stop running.
const RequireEnv = "PROCMON_REQUIRE_PRIVILEGED"

// RequireRoot skips t, with the reason, unless the test runs as root. When
// RequireEnv is set to 1 the skip becomes a failure.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	SkipOrFail(t, "needs root (it opens the proc connector, enters namespaces and runs children as other users); run it as root")
}

// SkipOrFail skips t with reason, or fails it when RequireEnv=1.
func SkipOrFail(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s (%s=1 forbids skipping)", reason, RequireEnv)
	}
	t.Skip(reason)
}
