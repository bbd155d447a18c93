package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// BuildHelper compiles testdata/<name>.c of this package with the system's C
// compiler into a temporary directory and returns the program's path. The
// helpers make processes whose shape Go cannot: a main thread that ends
// first, a thread that execs. A missing compiler skips the test, or fails it
// where RequireEnv forbids skipping.
func BuildHelper(t testing.TB, name string) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		SkipOrFail(t, "needs a C compiler (cc) to build the test helper "+name)
	}
	_, here, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(here), "testdata", name+".c")
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	cmd := exec.Command(cc, "-O2", "-pthread", "-o", out, src)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", src, err, msg)
	}
	if err := os.Chmod(out, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}
