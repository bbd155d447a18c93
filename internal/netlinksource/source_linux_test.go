package netlinksource

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/internal/testutil"
)

// childEnv makes the test binary, re-run as a child, open a source and print
// the outcome instead of running tests: the way to try other credentials and
// namespaces.
const childEnv = "PROCMON_NETLINK_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		src, err := open(Config{ProcRoot: "/proc", AckTimeout: time.Second}, &seqTracker{})
		if err != nil {
			fmt.Println("ERR:", err)
			os.Exit(0)
		}
		_ = src.Close()
		fmt.Println("OK")
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// recorder is a procevent.Sink that keeps copies of what it is handed.
type recorder struct {
	events    []procevent.Event
	lost      uint64
	malformed int
}

func (r *recorder) Event(ev *procevent.Event) { r.events = append(r.events, *ev) }
func (r *recorder) Lost(n uint64)             { r.lost += n }
func (r *recorder) Malformed()                { r.malformed++ }

func TestHandleDatagram(t *testing.T) {
	s := &source{tr: &seqTracker{}}
	var dgram []byte
	dgram = append(dgram, message(evExec, 0, 1, 1, 5, 5)...)
	dgram = append(dgram, message(evNone, 0xffffffff, 77, 1, 0)...) // an old kernel's ack: outside the sequence
	dgram = append(dgram, message(evExit, 0, 4, 2, 5, 5, 0, 17, 1, 1)...)
	dgram = append(dgram, message(evNone, 1, 9, 1, 0)...) // a new kernel's ack: numbered on CPU 1
	dgram = append(dgram, message(evFork, 1, 10, 1, 1, 1, 2, 2)...)
	dgram = append(dgram, message(0x777, 0, 5, 3, 1, 1)...) // unknown: counted, skipped
	dgram = append(dgram, message(evExec, 0, 6, 4, 6, 6)...)
	var r recorder
	s.handle(dgram, &r)
	require.Len(t, r.events, 4)
	require.Equal(t, int32(6), r.events[3].PID)
	require.Equal(t, uint64(2), r.lost, "seq 2 and 3 were never seen")
	require.Equal(t, 1, r.malformed)

	r = recorder{}
	s.handle([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}, &r)
	require.Equal(t, 1, r.malformed)
	require.Empty(t, r.events)
}

// syncRecorder is a recorder safe to read while Receive runs.
type syncRecorder struct {
	mu sync.Mutex
	r  recorder
}

func (s *syncRecorder) Event(ev *procevent.Event) { s.mu.Lock(); s.r.Event(ev); s.mu.Unlock() }
func (s *syncRecorder) Lost(n uint64)             { s.mu.Lock(); s.r.Lost(n); s.mu.Unlock() }
func (s *syncRecorder) Malformed()                { s.mu.Lock(); s.r.Malformed(); s.mu.Unlock() }

func (s *syncRecorder) find(kind procevent.Kind, pid int32) (procevent.Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range s.r.events {
		if ev.Kind == kind && ev.PID == pid {
			return ev, true
		}
	}
	return procevent.Event{}, false
}

// receiveAll runs Receive until it fails and returns that error on done.
func receiveAll(src procevent.Source, sink procevent.Sink) (done chan error) {
	done = make(chan error, 1)
	go func() {
		for {
			if err := src.Receive(sink); err != nil && !errors.Is(err, procevent.ErrOverrun) {
				done <- err
				return
			}
		}
	}()
	return done
}

// waits are the ways Receive can wait for the kernel: only through the
// runtime, and only in the held wait (an hour, longer than any test).
func waits() []struct {
	name string
	hold time.Duration
} {
	return []struct {
		name string
		hold time.Duration
	}{{"runtime", -1}, {"held", time.Hour}}
}

func TestReceivesForkExecExit(t *testing.T) {
	testutil.RequireRoot(t)
	for _, w := range waits() {
		t.Run(w.name, func(t *testing.T) { testReceivesForkExecExit(t, w.hold) })
	}
}

func testReceivesForkExecExit(t *testing.T, hold time.Duration) {
	src, err := NewOpener(Config{ProcRoot: "/proc", ReceiveBuffer: 4 << 20, HoldWait: hold})()
	require.NoError(t, err)
	var rec syncRecorder
	done := receiveAll(src, &rec)

	cmd := exec.Command("/bin/sh", "-c", "exit 3")
	before := time.Now()
	require.Error(t, cmd.Run())
	pid := int32(cmd.Process.Pid)

	require.Eventually(t, func() bool {
		_, ok := rec.find(procevent.KindExit, pid)
		return ok
	}, 5*time.Second, 10*time.Millisecond)
	fork, ok := rec.find(procevent.KindFork, pid)
	require.True(t, ok, "fork of %d", pid)
	require.Equal(t, int32(os.Getpid()), fork.ParentTGID)
	_, ok = rec.find(procevent.KindExec, pid)
	require.True(t, ok, "exec of %d", pid)
	exit, _ := rec.find(procevent.KindExit, pid)
	require.Equal(t, pid, exit.TGID)
	require.Equal(t, uint32(3<<8), exit.ExitStatus)
	require.Equal(t, int32(os.Getpid()), exit.ParentTGID)
	require.NotZero(t, exit.Timestamp)
	require.WithinDuration(t, before, time.Now(), 5*time.Second)

	require.NoError(t, src.Close())
	select {
	case err := <-done:
		require.Error(t, err)
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock Receive")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Zero(t, rec.r.lost, "a 4 MiB buffer loses nothing for a handful of events")
	require.Zero(t, rec.r.malformed)
}

func TestCloseUnblocksIdleReceive(t *testing.T) {
	testutil.RequireRoot(t)
	for _, w := range waits() {
		t.Run(w.name, func(t *testing.T) {
			src, err := NewOpener(Config{ProcRoot: "/proc", HoldWait: w.hold})()
			require.NoError(t, err)
			done := receiveAll(src, &syncRecorder{})
			time.Sleep(50 * time.Millisecond)
			require.NoError(t, src.Close())
			require.NoError(t, src.Close(), "Close twice is harmless")
			select {
			case err := <-done:
				require.ErrorIs(t, err, errClosed)
			case <-time.After(2 * time.Second):
				t.Fatal("Close did not unblock Receive")
			}
		})
	}
}

// TestOutsideRootNamespace opens the socket in a fresh network namespace that
// procmon takes for the root one (proc_root points there), as a collector
// without hostNetwork and without the host's /proc would.
func TestOutsideRootNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "1", "ns"), 0o755))
	require.NoError(t, os.Symlink("/proc/thread-self/ns/net", filepath.Join(root, "1", "ns", "net")))

	testutil.InFreshNetNS(t, func() {
		_, err := open(Config{ProcRoot: root, AckTimeout: time.Second}, &seqTracker{})
		require.ErrorIs(t, err, ErrNotRootNamespace)
		require.ErrorContains(t, err, "hostNetwork")
	})
}

// TestFromFreshNamespace opens the socket from a fresh network namespace:
// it is made in the root one, where the kernel answers, and the calling
// thread stays where it was.
func TestFromFreshNamespace(t *testing.T) {
	testutil.InFreshNetNS(t, func() {
		fresh := testutil.ThreadNetNS(t)
		s, err := open(Config{ProcRoot: "/proc", AckTimeout: 2 * time.Second, ReceiveBuffer: 1 << 20}, &seqTracker{})
		require.NoError(t, err)
		require.NoError(t, s.Close())
		require.Equal(t, fresh, testutil.ThreadNetNS(t), "the thread must stay in its namespace")
	})
}

// runChild runs this test binary as a child that opens a source, and returns
// what it printed.
func runChild(t *testing.T, attr *syscall.SysProcAttr) string {
	testutil.RequireRoot(t)
	self, err := os.Executable()
	require.NoError(t, err)
	// Copy the binary where any user may run it: the build cache is private.
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	bin := filepath.Join(dir, "child.test")
	data, err := os.ReadFile(self)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bin, data, 0o755))

	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.SysProcAttr = attr
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}

// TestUnprivilegedUser: whether a user without CAP_NET_ADMIN may subscribe
// depends on the kernel (and its security modules), so the test asks it
// first; where it refuses, the error must say what to grant, and where it
// admits, the source must open.
func TestUnprivilegedUser(t *testing.T) {
	admitted := testutil.ConnectorAdmitsUnprivileged(t)
	out := runChild(t, &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}})
	t.Logf("as uid 65534 without capabilities (the kernel admits unprivileged listeners: %t): %s", admitted, out)
	if admitted {
		require.Equal(t, "OK\n", out)
		return
	}
	require.Contains(t, out, "ERR: "+ErrPermission.Error()+": "+stepJoin.String())
	require.Contains(t, out, "grant it CAP_NET_ADMIN")
}

// TestUserNamespace: root in a user namespace of its own has no capability
// the kernel counts, and the proc connector ignores subscriptions from
// there; either way the error names the user namespace.
func TestUserNamespace(t *testing.T) {
	out := runChild(t, &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
	})
	t.Logf("as root in a user namespace of its own: %s", out)
	require.Contains(t, out, "ERR: "+ErrUserNamespace.Error())
	require.Contains(t, out, "initial PID and user namespaces")
}

func TestPIDNamespaceGetsNoAck(t *testing.T) {
	out := runChild(t, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID})
	require.Contains(t, out, "ERR:")
	require.Contains(t, out, "did not acknowledge")
	require.Contains(t, out, "hostPID")
}

// TestSetupErrors: every step's refusal becomes the sentence that says what
// is missing, with the step and the kernel's answer behind it. Most of these
// refusals this kernel does not make as the tests run (an older kernel, a
// seccomp profile, a security module would), so they are given here.
func TestSetupErrors(t *testing.T) {
	outside := placement{nsErr: fmt.Errorf("entering the root network namespace: %w", unix.EPERM)}
	userNS := placement{userNS: true}
	timeout := ackTimeout(2 * time.Second)
	refused := func(errno unix.Errno) error { return fmt.Errorf("%w: %w", errRefused, errno) }
	for _, c := range []struct {
		name string
		st   step
		err  error
		at   placement
		want error // the sentence; nil for the step's own lead
	}{
		{"socket EPERM", stepSocket, unix.EPERM, placement{}, ErrSocketRefused},
		{"socket EACCES", stepSocket, unix.EACCES, userNS, ErrSocketRefused},
		{"socket ECONNREFUSED", stepSocket, unix.ECONNREFUSED, placement{}, nil},
		{"socket EPROTONOSUPPORT", stepSocket, unix.EPROTONOSUPPORT, placement{}, ErrNoConnector},
		{"socket EAFNOSUPPORT", stepSocket, unix.EAFNOSUPPORT, placement{}, ErrNoConnector},
		{"socket EMFILE", stepSocket, unix.EMFILE, placement{}, nil},
		{"join EPERM", stepJoin, unix.EPERM, placement{}, ErrPermission},
		{"join EACCES", stepJoin, unix.EACCES, outside, ErrPermission},
		{"join EPERM in a user namespace", stepJoin, unix.EPERM, userNS, ErrUserNamespace},
		{"join ECONNREFUSED", stepJoin, unix.ECONNREFUSED, placement{}, nil},
		{"join EINVAL", stepJoin, unix.EINVAL, placement{}, nil},
		{"send EPERM", stepSend, unix.EPERM, placement{}, ErrPermission},
		{"send EACCES in a user namespace", stepSend, unix.EACCES, userNS, ErrUserNamespace},
		{"send ECONNREFUSED", stepSend, unix.ECONNREFUSED, placement{}, ErrNotRootNamespace},
		{"send ECONNREFUSED, root namespace not entered", stepSend, unix.ECONNREFUSED, outside, ErrNoRootNamespace},
		{"send ENOMEM", stepSend, unix.ENOMEM, placement{}, nil},
		{"ack EPERM", stepAck, refused(unix.EPERM), placement{}, ErrPermission},
		{"ack EACCES in a user namespace", stepAck, refused(unix.EACCES), userNS, ErrUserNamespace},
		{"ack ECONNREFUSED", stepAck, unix.ECONNREFUSED, placement{}, nil},
		{"ack EINVAL", stepAck, refused(unix.EINVAL), placement{}, errRefused},
		{"ack timeout", stepAck, timeout, placement{}, ErrNoAck},
		{"ack timeout in a user namespace", stepAck, timeout, userNS, ErrUserNamespace},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := setupError(c.st, c.err, c.at)
			require.Error(t, err)
			require.ErrorIs(t, err, c.err, "the kernel's answer stays behind the sentence")
			if c.want == nil {
				require.Equal(t, c.st.String()+": "+c.err.Error(), err.Error())
				return
			}
			require.ErrorIs(t, err, c.want)
			require.True(t, strings.HasPrefix(err.Error(), c.want.Error()), "the sentence leads: %v", err)
			switch {
			case c.want == ErrNoRootNamespace:
				require.ErrorIs(t, err, unix.EPERM, "why the namespace could not be entered")
			case c.st == stepAck && (c.err == timeout || c.want == errRefused):
				// The acknowledgement's own words say what happened.
			default:
				require.Contains(t, err.Error(), ": "+c.st.String()+": ", "the step that was refused")
			}
		})
	}
	require.NoError(t, setupError(stepSend, nil, placement{}))
}

// TestSetupSentencesSayWhatToDo: each sentence names a remedy, a setting or
// a capability, after its colon.
func TestSetupSentencesSayWhatToDo(t *testing.T) {
	for _, err := range []error{ErrNoConnector, ErrSocketRefused, ErrPermission, ErrUserNamespace, ErrNoRootNamespace, ErrNotRootNamespace, ErrNoAck} {
		what, todo, ok := strings.Cut(err.Error(), ": ")
		require.True(t, ok, "%v: a finding, then what to do", err)
		require.NotEmpty(t, what)
		require.Regexp(t, `source: ebpf|CAP_[A-Z_]+|host(Network|PID|Users)|proc_root`, todo, "%v", err)
	}
}
