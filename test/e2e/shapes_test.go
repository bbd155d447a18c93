//go:build linux

package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/procmon-otel/procmon/internal/procfs"
	"github.com/procmon-otel/procmon/internal/testutil"
)

const (
	attrCommandArgs = "process.command_args"
	attrUserID      = "process.user.id"
	attrOwner       = "process.owner"
	attrExitSignal  = "procmon.exit.signal"
	attrContainerID = "container.id"
	attrCgroup      = "process.linux.cgroup"
	attrSessionLead = "process.session_leader.pid"
	attrCreation    = "process.creation.time"
)

// wantExec is what an exec record must say of the program a process ran.
type wantExec struct {
	exe, cwd    string
	args        []string
	argc        int // when args holds only the start of them
	uid         int64
	owner       string
	containerID string
	cut         bool
}

// shape is a process run the way users run them, and what its records
// must say: its execs in order, and how it ended as wait(2) saw it.
type shape struct {
	name  string
	pid   int64
	execs []wantExec
	// code is the exit code, or -1 when signal ended it.
	code   int
	signal string
}

// TestProcessShapes runs processes of the shapes users run (relative
// paths, symlinks, scripts, odd and long arguments, every exit code,
// signals, another user, a main thread that ends first, a thread that
// execs, a container's cgroup) and checks every record field by field
// against what each process was: what the parent's wait returned, and
// what the test made it run. The eBPF source must get every field of every
// process right. The netlink source must get the exits right; what it
// reads from /proc it may miss for a process already gone, but never get
// wrong.
func TestProcessShapes(t *testing.T) { forEachSource(t, testProcessShapes) }

func testProcessShapes(t *testing.T, source string) {
	r := startReporting(t, source)
	col, logs := r.collector, r.logs

	shapes := runShapes(t)
	parent := int64(os.Getpid())
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		byPID := childRecords(logs, parent)
		for _, s := range shapes {
			got := byPID[s.pid]
			if assert.NotNil(c, got, "%s: no records", s.name) {
				assert.Len(c, got.execs, len(s.execs), "%s: exec records", s.name)
				assert.NotEmpty(c, got.exits, "%s: no exit record", s.name)
			}
		}
	}, 30*time.Second, 200*time.Millisecond)
	time.Sleep(time.Second) // room for a duplicate to show
	byPID := childRecords(logs, parent)

	incomplete := 0
	for _, s := range shapes {
		got := byPID[s.pid]
		require.Len(t, got.exits, 1, "%s: one exit record per process", s.name)
		checkExit(t, s, got.exits[0])
		for i, want := range s.execs {
			if !checkExec(t, source, s.name, want, got.execs[i], resource(t, logs, got.execs[i])) {
				incomplete++
			}
		}
	}
	t.Logf("%s: %d processes; %d exec records lacked a field of their process", source, len(shapes), incomplete)
	if source == sourceEBPF {
		assert.Zero(t, incomplete, "the eBPF source captures every field at the exec")
	}
	stopCollector(t, col)
}

// checkExit checks an exit record against how the process ended.
func checkExit(t *testing.T, s shape, r plog.LogRecord) {
	t.Helper()
	if s.signal != "" {
		assert.Equal(t, s.signal, stringAttr(r, attrExitSignal), "%s: %s", s.name, attrExitSignal)
		assert.Equal(t, int64(-1), intAttr(r, attrExitCode), "%s: no exit code when a signal ended it", s.name)
	} else {
		assert.Equal(t, int64(s.code), intAttr(r, attrExitCode), "%s: %s", s.name, attrExitCode)
		assert.Empty(t, stringAttr(r, attrExitSignal), "%s", s.name)
	}
	assert.Equal(t, int64(os.Getpid()), intAttr(r, attrParentPID), "%s: exit %s", s.name, attrParentPID)
}

// checkExec checks an exec record against what the process ran. A field
// the record lacks fails only for the eBPF source; a wrong one always. It
// reports whether every field was there. res is the resource r came under.
func checkExec(t *testing.T, source, name string, want wantExec, r plog.LogRecord, res pcommon.Resource) bool {
	t.Helper()
	complete := true
	// check compares the attribute key, when the record has it, with want.
	check := func(key string, want any, got func(pcommon.Value) any) {
		v, ok := r.Attributes().Get(key)
		if !ok {
			complete = false
			if source == sourceEBPF {
				t.Errorf("%s: exec record without %s", name, key)
			}
			return
		}
		assert.Equal(t, want, got(v), "%s: %s", name, key)
	}
	str := func(v pcommon.Value) any { return v.AsString() }
	num := func(v pcommon.Value) any { return v.Int() }
	check(attrExePath, want.exe, str)
	check(attrWorkingDir, want.cwd, str)
	check(attrCommandArgs, want.args, func(v pcommon.Value) any {
		var got []string
		for _, a := range v.Slice().All() {
			got = append(got, a.Str())
		}
		return got
	})
	if _, ok := r.Attributes().Get(attrCommandArgs); ok {
		argc := want.argc
		if argc == 0 {
			argc = len(want.args)
		}
		check(attrArgsCount, int64(argc), num)
		_, cut := r.Attributes().Get(attrTruncated)
		assert.Equal(t, want.cut, cut, "%s: %s", name, attrTruncated)
	}
	check(attrUserID, want.uid, num)
	check(attrOwner, want.owner, str)
	check(attrCgroup, true, func(v pcommon.Value) any { return v.Str() != "" })
	// A process in a container comes under a resource with its container.id;
	// a process of the host under the host's, which has none.
	id, hasID := res.Attributes().Get(attrContainerID)
	switch {
	case want.containerID == "":
		assert.False(t, hasID, "%s: resource %s of a host process", name, attrContainerID)
	case hasID:
		assert.Equal(t, want.containerID, id.Str(), "%s: resource %s", name, attrContainerID)
	default:
		complete = false
		if source == sourceEBPF {
			t.Errorf("%s: exec record of a container process under a resource without %s", name, attrContainerID)
		}
	}
	_, onRecord := r.Attributes().Get(attrContainerID)
	assert.False(t, onRecord, "%s: %s is a resource attribute, not a record's", name, attrContainerID)
	assert.Equal(t, int64(os.Getpid()), intAttr(r, attrParentPID), "%s: exec %s", name, attrParentPID)
	return complete
}

// resource returns the resource r was delivered under.
func resource(t *testing.T, logs *consumertest.LogsSink, r plog.LogRecord) pcommon.Resource {
	t.Helper()
	res, ok := resourceOf(logs, r)
	require.True(t, ok, "a record not among the sink's")
	return res
}

// runShapes runs every shape once, one after another, and returns them.
func runShapes(t *testing.T) []shape {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	// Another user runs in it: every directory on the way must let it in.
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	truePath := resolve(t, "/bin/true")
	sh := resolve(t, "/bin/sh")
	sleep := resolve(t, "/bin/sleep")
	wd, err := os.Getwd()
	require.NoError(t, err)
	root := wantExec{uid: 0, owner: "root", cwd: wd}
	var shapes []shape

	// run runs cmd to its end and records it as a shape.
	run := func(name string, cmd *exec.Cmd, execs ...wantExec) {
		t.Helper()
		err := cmd.Run()
		var exitErr *exec.ExitError
		if err != nil && !assert.ErrorAs(t, err, &exitErr, "%s", name) {
			return
		}
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		s := shape{name: name, pid: int64(cmd.Process.Pid), execs: execs, code: ws.ExitStatus()}
		if ws.Signaled() {
			s.code, s.signal = -1, unixSignalName(ws.Signal())
		}
		shapes = append(shapes, s)
	}
	with := func(w wantExec, edit func(*wantExec)) wantExec {
		edit(&w)
		return w
	}

	// A relative path, from a working directory of its own.
	copyFile(t, truePath, filepath.Join(dir, "prog"), 0o755)
	rel := exec.Command("./prog", "a")
	rel.Dir = dir
	run("relative path", rel, with(root, func(w *wantExec) {
		w.exe, w.cwd, w.args = filepath.Join(dir, "prog"), dir, []string{"./prog", "a"}
	}))

	// A symlink: the kernel reports the file it resolves to.
	require.NoError(t, os.Symlink(truePath, filepath.Join(dir, "link")))
	run("symlink", exec.Command(filepath.Join(dir, "link")), with(root, func(w *wantExec) {
		w.exe, w.args = truePath, []string{filepath.Join(dir, "link")}
	}))

	// A #! script: the interpreter runs, with the script as its argument.
	script := filepath.Join(dir, "script.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\nexit 3\n"), 0o755))
	run("script", exec.Command(script, "x"), with(root, func(w *wantExec) {
		w.exe, w.args = sh, []string{"/bin/sh", script, "x"}
	}))

	// Empty arguments (the last one too), spaces and non-ASCII.
	odd := []string{truePath, "", "a b", "héllo wörld ✓", "tab\there", ""}
	run("odd arguments", &exec.Cmd{Path: truePath, Args: odd}, with(root, func(w *wantExec) {
		w.exe, w.args = truePath, odd
	}))

	// Arguments longer than max_command_line_length: cut, and flagged.
	long := []string{truePath, strings.Repeat("x", 3000), strings.Repeat("y", 3000), "z"}
	run("long arguments", &exec.Cmd{Path: truePath, Args: long}, with(root, func(w *wantExec) {
		w.exe, w.argc, w.cut = truePath, len(long), true
		w.args = []string{truePath, long[1], long[2][:maxCommandLine-len(truePath)-len(long[1])]}
	}))

	// Every exit code.
	for code := range 256 {
		run(fmt.Sprintf("exit %d", code), exec.Command("/bin/sh", "-c", "exit "+strconv.Itoa(code)),
			with(root, func(w *wantExec) { w.exe, w.args = sh, []string{"/bin/sh", "-c", "exit " + strconv.Itoa(code)} }))
	}

	// Death by signal.
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		cmd := exec.Command(sleep, "10")
		require.NoError(t, cmd.Start())
		time.Sleep(20 * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(sig))
		_ = cmd.Wait()
		shapes = append(shapes, shape{name: sig.String(), pid: int64(cmd.Process.Pid), code: -1, signal: unixSignalName(sig),
			execs: []wantExec{with(root, func(w *wantExec) { w.exe, w.args = sleep, []string{sleep, "10"} })}})
	}

	// Another user.
	if nobody, err := user.LookupId("65534"); err == nil {
		cmd := exec.Command(truePath)
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		run("another user", cmd, wantExec{exe: truePath, args: []string{truePath}, cwd: dir, uid: 65534, owner: nobody.Username})
	}

	// A main thread that ends first while another thread calls exit(5),
	// and a thread that execs sh, which exits 7.
	helper := testutil.BuildHelper(t, "threads")
	run("main thread ends first", exec.Command(helper, "leader-first", "5"), with(root, func(w *wantExec) {
		w.exe, w.args = helper, []string{helper, "leader-first", "5"}
	}))
	run("a thread execs", exec.Command(helper, "thread-exec", "/bin/sh", "-c", "exit 7"),
		with(root, func(w *wantExec) { w.exe, w.args = helper, []string{helper, "thread-exec", "/bin/sh", "-c", "exit 7"} }),
		with(root, func(w *wantExec) { w.exe, w.args = sh, []string{"/bin/sh", "-c", "exit 7"} }))

	// A process in a container's cgroup: sh joins it, then execs true.
	if procs, id := containerCgroup(t); procs != "" {
		cmd := exec.Command("/bin/sh", "-c", `echo $$ > "$0" && exec "$1" in-container`, procs, truePath)
		run("in a container", cmd,
			with(root, func(w *wantExec) {
				w.exe, w.args = sh, []string{"/bin/sh", "-c", `echo $$ > "$0" && exec "$1" in-container`, procs, truePath}
			}),
			with(root, func(w *wantExec) {
				w.exe, w.args, w.containerID = truePath, []string{truePath, "in-container"}, id
			}))
	}
	return shapes
}

// containerCgroup makes a cgroup named as a container runtime names its
// containers' and returns its cgroup.procs and the container id, or skips
// the shape (fails in CI) where no cgroup hierarchy can be written. The
// cgroup v2 hierarchy is used, else v1's pids controller: the ones
// procfs.ParseCgroup and the eBPF source prefer.
func containerCgroup(t *testing.T) (procs, id string) {
	t.Helper()
	raw := make([]byte, 32)
	_, err := rand.Read(raw)
	require.NoError(t, err)
	id = hex.EncodeToString(raw)
	for _, base := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup", "/sys/fs/cgroup/pids"} {
		if _, err := os.Stat(filepath.Join(base, "cgroup.procs")); err != nil {
			continue
		}
		parent := filepath.Join(base, fmt.Sprintf("procmon-e2e-%d", os.Getpid()))
		dir := filepath.Join(parent, "docker-"+id+".scope")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			continue
		}
		t.Cleanup(func() {
			// A cgroup goes once its processes have.
			require.Eventually(t, func() bool { return os.Remove(dir) == nil || os.IsNotExist(os.Remove(dir)) },
				5*time.Second, 10*time.Millisecond)
			_ = os.Remove(parent)
		})
		require.Equal(t, id, procfs.ContainerID(strings.TrimPrefix(dir, base)))
		return filepath.Join(dir, "cgroup.procs"), id
	}
	testutil.SkipOrFail(t, "no writable cgroup hierarchy to place a process in a container's cgroup")
	return "", ""
}

// resolve returns path with its symlinks resolved, as the kernel reports
// an executable.
func resolve(t *testing.T, path string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(path)
	require.NoError(t, err)
	return r
}

// unixSignalName names a signal as procmon.exit.signal does.
func unixSignalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return "signal " + strconv.Itoa(int(sig))
}

// lowRateRuns is how many processes TestLowRate runs one at a time.
const lowRateRuns = 50

// TestLowRate runs a short-lived program one process at a time with pauses,
// as on a quiet host, then again with a CPU-bound process on every core, as
// on a busy one: the reader sleeps between processes, and waking it costs
// more than such a process lives. Every exec record of the eBPF source must
// name its process in full; the netlink source's misses are counted.
func TestLowRate(t *testing.T) { forEachSource(t, testLowRate) }

func testLowRate(t *testing.T, source string) {
	r := startReporting(t, source)
	col, logs, probe := r.collector, r.logs, r.probe
	wd, err := os.Getwd()
	require.NoError(t, err)
	want := wantExec{exe: probe, cwd: wd, args: []string{probe, "low-rate"}, owner: "root"}

	for _, load := range []string{"quiet", "busy"} {
		t.Run(load, func(t *testing.T) {
			if load == "busy" {
				for range runtime.NumCPU() {
					hog := exec.Command("/bin/sh", "-c", "while :; do :; done")
					require.NoError(t, hog.Start())
					t.Cleanup(func() { _ = hog.Process.Kill(); _ = hog.Wait() })
				}
			}
			var pids []int64
			for range lowRateRuns {
				cmd := exec.Command(probe, "low-rate")
				require.NoError(t, cmd.Run())
				pids = append(pids, int64(cmd.Process.Pid))
				time.Sleep(20 * time.Millisecond)
			}
			parent := int64(os.Getpid())
			require.EventuallyWithT(t, func(c *assert.CollectT) {
				byPID := childRecords(logs, parent)
				for _, pid := range pids {
					if got := byPID[pid]; assert.NotNil(c, got, "pid %d", pid) {
						assert.Len(c, got.execs, 1, "pid %d", pid)
						assert.Len(c, got.exits, 1, "pid %d", pid)
					}
				}
			}, 20*time.Second, 100*time.Millisecond)
			byPID := childRecords(logs, parent)
			incomplete := 0
			for _, pid := range pids {
				got := byPID[pid]
				checkExit(t, shape{name: fmt.Sprintf("pid %d", pid)}, got.exits[0])
				if !checkExec(t, source, fmt.Sprintf("pid %d", pid), want, got.execs[0], resource(t, logs, got.execs[0])) {
					incomplete++
				}
			}
			t.Logf("%s, %s host: %d of %d exec records lacked a field of their process", source, load, incomplete, lowRateRuns)
		})
	}
	stopCollector(t, col)
}
