package ebpfsource

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf/btf"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/procmon-otel/procmon/internal/loadgen"
	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/internal/procfs"
	"github.com/procmon-otel/procmon/internal/testutil"
)

// stormEnv makes the test binary a fork storm of that many processes
// instead of running tests: BenchmarkReceive's load, in a process of its own.
const stormEnv = "PROCMON_EBPF_BENCH_STORM"

func TestMain(m *testing.M) {
	if n, err := strconv.Atoi(os.Getenv(stormEnv)); err == nil {
		if _, err := loadgen.ForkStorm(n, 1); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// event is a copy of what a source handed its sink.
type event struct {
	procevent.Event
	exe, cwd, cgroup, args string
}

// recorder is a Sink that keeps copies of every event, and the losses.
type recorder struct {
	mu        sync.Mutex
	events    []event
	lost      uint64
	malformed int
}

func (r *recorder) Event(ev *procevent.Event) {
	e := event{Event: *ev, exe: string(ev.Content.Exe), cwd: string(ev.Content.Cwd),
		cgroup: string(ev.Content.Cgroup), args: string(ev.Content.Args)}
	e.Content.Exe, e.Content.Cwd, e.Content.Cgroup, e.Content.Args = nil, nil, nil, nil
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) Lost(n uint64) {
	r.mu.Lock()
	r.lost += n
	r.mu.Unlock()
}

func (r *recorder) Malformed() {
	r.mu.Lock()
	r.malformed++
	r.mu.Unlock()
}

// of returns the events of kind about process pid.
func (r *recorder) of(kind procevent.Kind, pid int) []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []event
	for _, e := range r.events {
		if e.Kind == kind && int(e.TGID) == pid {
			out = append(out, e)
		}
	}
	return out
}

// requireEBPF skips t unless the eBPF source can run here, or fails it
// where RequireEnv forbids skipping.
func requireEBPF(t *testing.T) {
	t.Helper()
	testutil.RequireRoot(t)
	if err := checkCapabilities(); err != nil {
		testutil.SkipOrFail(t, err.Error())
	}
}

// receiving opens a source with cfg and receives into a recorder until the
// test ends.
func receiving(t *testing.T, cfg Config) *recorder {
	t.Helper()
	requireEBPF(t)
	src, err := NewOpener(cfg)()
	require.NoError(t, err)
	rec := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			err := src.Receive(rec)
			if errors.Is(err, errClosed) {
				return
			}
		}
	}()
	t.Cleanup(func() {
		require.NoError(t, src.Close())
		<-done
	})
	return rec
}

// waitFor waits until rec has n events of kind about pid, and returns them.
func waitFor(t *testing.T, rec *recorder, kind procevent.Kind, pid, n int) []event {
	t.Helper()
	var got []event
	require.Eventually(t, func() bool {
		got = rec.of(kind, pid)
		return len(got) >= n
	}, 5*time.Second, 5*time.Millisecond, "%d %s events of pid %d", n, kind, pid)
	return got
}

func TestExecContent(t *testing.T) {
	rec := receiving(t, Config{})
	// A relative path to a symlink, from a working directory of our own,
	// with empty, spaced and non-ASCII arguments.
	dir, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	truePath, err := filepath.EvalSymlinks("/bin/true")
	require.NoError(t, err)
	require.NoError(t, os.Symlink(truePath, filepath.Join(dir, "link")))
	args := []string{"./link", "", "a b", "héllo", ""}
	cmd := exec.Command("./link")
	cmd.Args = args
	cmd.Dir = dir
	require.NoError(t, cmd.Run())
	pid := cmd.Process.Pid

	ev := waitFor(t, rec, procevent.KindExec, pid, 1)[0]
	c := ev.Content
	require.Equal(t, truePath, ev.exe, "the executable as /proc/<pid>/exe shows it")
	require.Equal(t, dir, ev.cwd)
	require.Equal(t, strings.Join(args, "\x00")+"\x00", ev.args)
	require.Equal(t, len(args), c.Argc)
	require.Equal(t, procevent.AllFields, c.Have)
	require.Zero(t, c.Cut)
	require.Equal(t, int32(pid), ev.PID)
	require.Equal(t, int32(os.Getpid()), c.PPID)
	require.Equal(t, [4]uint32{0, 0, 0, 0}, c.UIDs)
	require.Equal(t, "link", strings.TrimRight(string(c.Comm[:]), "\x00"))
	self, err := procfs.FS{Root: "/proc"}.Cgroup(int32(os.Getpid()))
	require.NoError(t, err)
	require.Equal(t, self, ev.cgroup, "the cgroup as procfs.ParseCgroup picks it")
	require.Equal(t, int32(syscall.Getpgrp()), c.PGID, "the child stays in the test's process group")
	sid, err := unix.Getsid(os.Getpid())
	require.NoError(t, err)
	require.Equal(t, int32(sid), c.SID)

	// Its fork came first, with the same start time.
	fork := waitFor(t, rec, procevent.KindFork, pid, 1)[0]
	require.Equal(t, c.StartBoottime, fork.Content.StartBoottime)
	require.Equal(t, int32(os.Getpid()), fork.ParentTGID)
}

func TestExecStartTimeMatchesProc(t *testing.T) {
	rec := receiving(t, Config{})
	cmd := exec.Command("/bin/sleep", "5")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pid := cmd.Process.Pid
	ev := waitFor(t, rec, procevent.KindExec, pid, 1)[0]
	st, err := procfs.FS{Root: "/proc"}.Stat(int32(pid))
	require.NoError(t, err)
	require.Equal(t, st.StartTicks, ev.Content.StartBoottime/1e7, "/proc/<pid>/stat field 22, in ticks of 10ms")
	status, err := procfs.FS{Root: "/proc"}.Status(int32(pid))
	require.NoError(t, err)
	require.Equal(t, status.UIDs, ev.Content.UIDs)
	require.Equal(t, status.GIDs, ev.Content.GIDs)
}

func TestExecArgsCut(t *testing.T) {
	rec := receiving(t, Config{MaxArgsBytes: 64})
	long := strings.Repeat("x", 200)
	cmd := exec.Command("/bin/true", long)
	require.NoError(t, cmd.Run())
	ev := waitFor(t, rec, procevent.KindExec, cmd.Process.Pid, 1)[0]
	require.True(t, ev.Content.Cut.Has(procevent.FieldCmdline), "a cut is flagged")
	require.Equal(t, ("/bin/true\x00" + long)[:64], ev.args)
	require.Equal(t, 2, ev.Content.Argc)
}

func TestExecOfDeletedExecutables(t *testing.T) {
	rec := receiving(t, Config{})
	content, err := os.ReadFile("/bin/true")
	require.NoError(t, err)

	// A file unlinked before it runs, run through its descriptor.
	dir, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	prog := filepath.Join(dir, "gone")
	require.NoError(t, os.WriteFile(prog, content, 0o755))
	f, err := os.Open(prog)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, os.Remove(prog))

	// A program that never had a path: a memfd.
	fd, err := unix.MemfdCreate("procmon-test", 0)
	require.NoError(t, err)
	mem := os.NewFile(uintptr(fd), "memfd")
	defer mem.Close()
	_, err = mem.Write(content)
	require.NoError(t, err)

	for want, file := range map[string]*os.File{prog + " (deleted)": f, "/memfd:procmon-test (deleted)": mem} {
		cmd := exec.Command("/proc/self/fd/3")
		cmd.ExtraFiles = []*os.File{file}
		require.NoError(t, cmd.Run())
		ev := waitFor(t, rec, procevent.KindExec, cmd.Process.Pid, 1)[0]
		require.Equal(t, want, ev.exe, "as /proc/<pid>/exe shows it")
	}
}

func TestExitStatus(t *testing.T) {
	rec := receiving(t, Config{})
	for _, tc := range []struct {
		name   string
		script string
		status uint32
	}{
		{"code 0", "exit 0", 0},
		{"code 3", "exit 3", 3 << 8},
		{"code 255", "exit 255", 255 << 8},
		{"SIGKILL", "kill -KILL $$", 9},
		{"SIGTERM", "kill -TERM $$", 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("/bin/sh", "-c", tc.script)
			_ = cmd.Run()
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			exits := waitFor(t, rec, procevent.KindExit, cmd.Process.Pid, 1)
			require.Len(t, exits, 1)
			require.Equal(t, tc.status, exits[0].ExitStatus)
			require.Equal(t, uint32(ws), exits[0].ExitStatus, "what wait returned")
			require.True(t, exits[0].GroupDead)
		})
	}
}

func TestExitOfThreadedProcesses(t *testing.T) {
	helper := testutil.BuildHelper(t, "threads")
	for _, hook := range []string{exitGroupDead, exitLive} {
		t.Run(hook, func(t *testing.T) {
			if hook == exitGroupDead {
				kspec, err := btf.LoadKernelSpec()
				require.NoError(t, err)
				if !exitHasGroupDead(kspec) {
					t.Skip("this kernel's exit tracepoint has no group_dead (before Linux 6.16)")
				}
			}
			rec := receiving(t, Config{ExitHook: hook})

			// The main thread ends first; the other calls exit(5).
			cmd := exec.Command(helper, "leader-first", "5")
			require.Error(t, cmd.Run())
			require.Equal(t, 5, cmd.ProcessState.ExitCode())
			exits := waitFor(t, rec, procevent.KindExit, cmd.Process.Pid, 1)
			time.Sleep(50 * time.Millisecond) // room for a second one
			exits = rec.of(procevent.KindExit, cmd.Process.Pid)
			require.Len(t, exits, 1, "one exit per process")
			require.Equal(t, uint32(5<<8), exits[0].ExitStatus)

			// A second thread execs sh, which exits 7: one exec each, one exit.
			cmd = exec.Command(helper, "thread-exec", "/bin/sh", "-c", "exit 7")
			require.Error(t, cmd.Run())
			require.Equal(t, 7, cmd.ProcessState.ExitCode())
			pid := cmd.Process.Pid
			execs := waitFor(t, rec, procevent.KindExec, pid, 2)
			sh, err := filepath.EvalSymlinks("/bin/sh")
			require.NoError(t, err)
			require.Equal(t, []string{helper, sh}, []string{execs[0].exe, execs[1].exe})
			waitFor(t, rec, procevent.KindExit, pid, 1)
			time.Sleep(50 * time.Millisecond)
			exits = rec.of(procevent.KindExit, pid)
			require.Len(t, exits, 1, "the thread's exec ends no process")
			require.Equal(t, uint32(7<<8), exits[0].ExitStatus)
		})
	}
}

func TestCloseUnblocksReceive(t *testing.T) {
	requireEBPF(t)
	src, err := NewOpener(Config{})()
	require.NoError(t, err)
	returned := make(chan error, 1)
	go func() {
		var err error
		for err == nil || errors.Is(err, procevent.ErrOverrun) {
			err = src.Receive(&recorder{})
		}
		returned <- err
	}()
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, src.Close())
	select {
	case err := <-returned:
		require.ErrorIs(t, err, errClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Receive did not return after Close")
	}
	require.NoError(t, src.Close(), "a second Close")
	require.ErrorIs(t, src.Receive(&recorder{}), errClosed)
}

func TestFullRingBufferIsCountedAsLost(t *testing.T) {
	requireEBPF(t)
	// One page of ring buffer, read by nobody while processes run: most of
	// their records find no room, and Receive must say how many.
	src, err := NewOpener(Config{RingBufferBytes: 1})()
	require.NoError(t, err)
	defer src.Close()
	const runs = 50
	pids := make([]int, 0, runs)
	for range runs {
		cmd := exec.Command("/bin/true")
		require.NoError(t, cmd.Run())
		pids = append(pids, cmd.Process.Pid)
	}
	// The first Receive takes what the ring holds and reports the loss; the
	// second picks up what came after, and waits no longer than that.
	rec := &recorder{}
	require.ErrorIs(t, src.Receive(rec), procevent.ErrOverrun)
	_ = src.Receive(rec)
	ours := 0
	for _, pid := range pids {
		for _, k := range []procevent.Kind{procevent.KindFork, procevent.KindExec, procevent.KindExit} {
			ours += len(rec.of(k, pid))
		}
	}
	require.Less(t, ours, 3*runs, "a page cannot hold them all")
	require.GreaterOrEqual(t, rec.lost, uint64(3*runs-ours), "every record of ours that did not arrive is counted")
	require.Zero(t, rec.malformed)
}

func TestRequiresCapabilities(t *testing.T) {
	require.ErrorIs(t, ErrPermission, ErrPermission)
	err := loadError("loading", syscall.EPERM)
	require.ErrorIs(t, err, ErrPermission)
	require.ErrorIs(t, err, syscall.EPERM)
	require.Equal(t, 2, len(slices.Collect(strings.SplitSeq(ErrPermission.Error(), ": "))), "one sentence, with its remedy")
}

// counter is a Sink that counts.
type counter struct{ events, lost, malformed uint64 }

func (c *counter) Event(*procevent.Event) { c.events++ }
func (c *counter) Lost(n uint64)          { c.lost += n }
func (c *counter) Malformed()             { c.malformed++ }

// BenchmarkReceive reads fork and exit records of a fork storm that another
// process runs, through Receive and the decoder: ns and allocations are per
// record. The storm is restarted until b.N records were read.
func BenchmarkReceive(b *testing.B) {
	testutil.RequireRoot(b)
	if err := checkCapabilities(); err != nil {
		testutil.SkipOrFail(b, err.Error())
	}
	src, err := NewOpener(Config{})()
	require.NoError(b, err)
	defer src.Close()
	storm := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), stormEnv+"=20000")
		require.NoError(b, cmd.Start())
		return cmd
	}
	var c counter
	cmd := storm()
	defer func() { _ = cmd.Process.Kill() }()
	b.ReportAllocs()
	b.ResetTimer()
	for c.events < uint64(b.N) {
		if err := src.Receive(&c); err != nil && !errors.Is(err, procevent.ErrOverrun) {
			b.Fatal(err)
		}
		if c.events < uint64(b.N) && exited(cmd) {
			cmd = storm()
		}
	}
	b.StopTimer()
	require.Zero(b, c.malformed)
	b.ReportMetric(float64(c.lost), "lost")
}

// exited reports whether cmd has ended, reaping it if so.
func exited(cmd *exec.Cmd) bool {
	var ws unix.WaitStatus
	pid, err := unix.Wait4(cmd.Process.Pid, &ws, unix.WNOHANG, nil)
	if err != nil || pid == cmd.Process.Pid {
		cmd.Process.Release()
		return true
	}
	return false
}
