package procmonreceiver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"
	conventions "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/procmon-otel/procmon/internal/filter"
	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/receiver/procmonreceiver/internal/metadata"
)

// feedSource hands the events sent on its channel to the monitor, as a
// kernel socket would, and fails once closed.
type feedSource struct {
	events chan procevent.Event
	fail   chan error // an error sent here is what Receive returns
	once   sync.Once
	closed chan struct{}
}

func (s *feedSource) Receive(sink procevent.Sink) error {
	select {
	case ev := <-s.events:
		sink.Event(&ev)
		return nil
	case err := <-s.fail:
		return err
	case <-s.closed:
		return errors.New("feed source closed")
	}
}

func (s *feedSource) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// harness is a receiver built by the factory around a feedSource: a new
// one each time the monitor opens its source, all fed by the same channels.
type harness struct {
	events chan procevent.Event
	fail   chan error
	rcv    *procmonReceiver
	logs   *consumertest.LogsSink
	mets   *consumertest.MetricsSink
	obs    *observer.ObservedLogs
}

// fakeProcess is what fakeProc lays out under /proc/<pid>.
type fakeProcess struct {
	pid, ppid  int32
	exe        string // the exe link's target; "" for none
	comm       string // the stat's command name; default the exe's base name
	args       []string
	uids, gids [4]uint32
	cwd        string // the cwd link's target; "" for none
	cgroup     string // the cgroup file; "" for none
	startTicks uint64
}

// fakePasswd is the fake host's /etc/passwd.
const fakePasswd = "root:x:0:0:root:/root:/bin/sh\n" +
	"alice:x:1001:1001:Alice:/home/alice:/bin/sh\n" +
	"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"

// hostCgroup and dockerCgroup are cgroup files of a host process and of a
// process of the container containerID.
const (
	hostCgroup   = "0::/user.slice/user-1001.slice/session-1.scope\n"
	dockerCgroup = "0::/system.slice/docker-" + containerID + ".scope\n"
)

// newFakeRoot makes a fake host: <dir>/proc, empty, and <dir>/etc/passwd.
func newFakeRoot(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "etc"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc", "passwd"), []byte(fakePasswd), 0o644))
	root := filepath.Join(dir, "proc")
	require.NoError(t, os.MkdirAll(root, 0o755))
	return root
}

// addProc lays out /proc/<pid> for p under root.
func addProc(t *testing.T, root string, p fakeProcess) {
	t.Helper()
	dir := filepath.Join(root, itoa(int(p.pid)))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	if p.exe != "" {
		require.NoError(t, os.Symlink(p.exe, filepath.Join(dir, "exe")))
	}
	if p.cwd != "" {
		require.NoError(t, os.Symlink(p.cwd, filepath.Join(dir, "cwd")))
	}
	cmdline := ""
	for _, a := range p.args {
		cmdline += a + "\x00"
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cmdline"), []byte(cmdline), 0o644))
	comm := p.comm
	if comm == "" {
		comm = filepath.Base(p.exe)
	}
	// ppid, pgrp, session and tty_nr are fields 4 to 7, starttime field 22.
	stat := fmt.Sprintf("%d (%s) S %d %d %d 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 %d 1000 100\n",
		p.pid, comm, p.ppid, p.pid, p.pid, p.startTicks)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644))
	ids := func(v [4]uint32) string { return fmt.Sprintf("%d\t%d\t%d\t%d", v[0], v[1], v[2], v[3]) }
	status := fmt.Sprintf("Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%d\nPid:\t%d\nPPid:\t%d\n"+
		"TracerPid:\t0\nUid:\t%s\nGid:\t%s\nFDSize:\t64\n", comm, p.pid, p.pid, p.ppid, ids(p.uids), ids(p.gids))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o644))
	if p.cgroup != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "cgroup"), []byte(p.cgroup), 0o644))
	}
}

// aliceProcess is a host process of alice's running exe with args.
func aliceProcess(pid int32, exe string, args ...string) fakeProcess {
	return fakeProcess{
		pid: pid, ppid: 77, exe: exe, args: args,
		uids: [4]uint32{1001, 1001, 1001, 1001}, gids: [4]uint32{1001, 1001, 1001, 1001},
		cwd: "/home/alice", cgroup: hostCgroup, startTicks: 12345,
	}
}

// fakeProc lays out /proc/<pid> for one process of alice's under a new
// fake host and returns its proc root.
func fakeProc(t *testing.T, pid int, exe string, args ...string) string {
	t.Helper()
	root := newFakeRoot(t)
	addProc(t, root, aliceProcess(int32(pid), exe, args...))
	return root
}

func itoa(n int) string { return strconv.Itoa(n) }

// newHarness creates and starts a receiver on a feed source with cfg
// adjusted by edit; logs and metrics go to sinks (or to next when given).
func newHarness(t *testing.T, procRoot string, edit func(*Config), next consumer.Logs) *harness {
	t.Helper()
	return newHarnessOn(t, componenttest.NewNopHost(), procRoot, edit, next)
}

// newHarnessOn is newHarness started on host.
func newHarnessOn(t *testing.T, host component.Host, procRoot string, edit func(*Config), next consumer.Logs) *harness {
	t.Helper()
	h := &harness{
		events: make(chan procevent.Event),
		fail:   make(chan error),
		logs:   new(consumertest.LogsSink),
		mets:   new(consumertest.MetricsSink),
	}
	if next == nil {
		next = h.logs
	}
	cfg := createDefaultConfig()
	cfg.ProcRoot = procRoot
	cfg.ScanExistingProcesses = false
	cfg.ReaderPriority = priorityNormal
	cfg.FlushInterval = 10 * time.Millisecond
	cfg.CollectionInterval = 10 * time.Millisecond
	if edit != nil {
		edit(cfg)
	}
	f := newFactory(openerSource(func(*Config) (procevent.Opener, error) {
		return func() (procevent.Source, error) {
			return &feedSource{events: h.events, fail: h.fail, closed: make(chan struct{})}, nil
		}, nil
	}))
	set := receivertest.NewNopSettings(metadata.Type)
	core, obs := observer.New(zap.DebugLevel)
	set.Logger = zap.New(core)
	h.obs = obs
	lr, err := f.CreateLogs(context.Background(), set, cfg, next)
	require.NoError(t, err)
	mr, err := f.CreateMetrics(context.Background(), set, cfg, h.mets)
	require.NoError(t, err)
	require.Same(t, lr, mr)
	h.rcv = lr.(*procmonReceiver)
	require.NoError(t, h.rcv.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, h.rcv.Shutdown(context.Background())) })
	return h
}

func (h *harness) send(evs ...procevent.Event) {
	for _, ev := range evs {
		h.events <- ev
	}
}

func records(sink *consumertest.LogsSink) []plog.LogRecord {
	var out []plog.LogRecord
	for _, ld := range sink.AllLogs() {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, r := range sl.LogRecords().All() {
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// findRecord returns the record of event name for pid, if recs have it.
func findRecord(recs []plog.LogRecord, name string, pid int) (plog.LogRecord, bool) {
	for _, r := range recs {
		if r.EventName() != name {
			continue
		}
		if v, ok := r.Attributes().Get(attrPID); ok && v.Int() == int64(pid) {
			return r, true
		}
	}
	return plog.LogRecord{}, false
}

// eventNames lists the records' event names with their pids, sorted.
func eventNames(recs []plog.LogRecord) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		pid, _ := r.Attributes().Get(attrPID)
		out = append(out, fmt.Sprintf("%s %d", r.EventName(), pid.Int()))
	}
	sort.Strings(out)
	return out
}

func TestExecAndExitBecomeRecords(t *testing.T) {
	root := newFakeRoot(t)
	curl := aliceProcess(4242, "/usr/bin/curl", "curl", "-s", "http://example.test/")
	curl.cgroup = dockerCgroup
	addProc(t, root, curl)
	h := newHarness(t, root, nil, nil)
	h.send(
		procevent.Event{Kind: procevent.KindExec, PID: 4242, TGID: 4242, CPU: 1, Timestamp: 1},
		procevent.Event{Kind: procevent.KindExit, PID: 4242, TGID: 4242, ExitStatus: 9, Timestamp: 2},
	)
	require.Eventually(t, func() bool { return len(records(h.logs)) == 2 }, 5*time.Second, 5*time.Millisecond)
	recs := records(h.logs)
	require.Equal(t, "procmon.exec", recs[0].EventName())
	exec := recs[0].Attributes().AsRaw()
	// The creation time depends on the host's boot time; its shape is checked.
	created, ok := exec[attrCreationTime].(string)
	require.True(t, ok, "process.creation.time is missing: %v", exec)
	_, err := time.Parse(time.RFC3339Nano, created)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(created, "Z"), created)
	delete(exec, attrCreationTime)
	require.Equal(t, map[string]any{
		attrPID: int64(4242), attrParentPID: int64(77), attrExecutableName: "curl",
		attrExecutablePath: "/usr/bin/curl", attrCommand: "curl",
		attrCommandArgs: []any{"curl", "-s", "http://example.test/"}, attrArgsCount: int64(3),
		attrWorkingDirectory: "/home/alice", attrOwner: "alice",
		attrUserID: int64(1001), attrRealUserID: int64(1001), attrSavedUserID: int64(1001),
		attrUserName: "alice", attrRealUserName: "alice", attrSavedUserName: "alice",
		attrGroupID: int64(1001), attrRealGroupID: int64(1001), attrSavedGroupID: int64(1001),
		attrGroupLeaderPID: int64(4242), attrSessionLeaderPID: int64(4242), attrInteractive: false,
		attrCgroup: "/system.slice/docker-" + containerID + ".scope",
		attrCPU:    int64(1),
	}, exec)
	require.Equal(t, "exec /usr/bin/curl (pid 4242)", recs[0].Body().Str())

	require.Equal(t, "procmon.exit", recs[1].EventName())
	exit := recs[1].Attributes().AsRaw()
	require.Equal(t, "SIGKILL", exit[attrExitSignal])
	require.NotContains(t, exit, attrExitCode)
	require.Contains(t, exit, attrExitTime)
	require.Contains(t, exit, attrLifetime)
	// The exit says what exited, from the pid table.
	for _, k := range []string{attrExecutablePath, attrCommandArgs, attrOwner, attrWorkingDirectory, attrCreationTime} {
		require.Equal(t, recs[0].Attributes().AsRaw()[k], exit[k], k)
	}
	require.Equal(t, plog.SeverityNumberWarn, recs[1].SeverityNumber())

	// A process in a container is under a resource that names it.
	rl := h.logs.AllLogs()[0].ResourceLogs().At(0)
	host, _ := os.Hostname()
	require.Equal(t, map[string]any{"host.name": host, "os.type": "linux", "container.id": containerID},
		rl.Resource().Attributes().AsRaw())
	require.Equal(t, conventions.SchemaURL, rl.SchemaUrl())
	require.Equal(t, metadata.ScopeName, rl.ScopeLogs().At(0).Scope().Name())
}

// resourcesOf returns, for each resource of the logs, its attributes and
// the pids of its records.
func resourcesOf(sink *consumertest.LogsSink) (attrs []map[string]any, pids [][]int64) {
	for _, ld := range sink.AllLogs() {
		for _, rl := range ld.ResourceLogs().All() {
			attrs = append(attrs, rl.Resource().Attributes().AsRaw())
			var ps []int64
			for _, sl := range rl.ScopeLogs().All() {
				for _, r := range sl.LogRecords().All() {
					pid, _ := r.Attributes().Get(attrPID)
					ps = append(ps, pid.Int())
				}
			}
			pids = append(pids, ps)
		}
	}
	return attrs, pids
}

func TestRecordsGoUnderTheirContainersResource(t *testing.T) {
	hostName, _ := os.Hostname()
	hostRes := map[string]any{"host.name": hostName, "os.type": "linux"}
	for _, tc := range []struct {
		name        string
		containerID bool
		want        []map[string]any
		wantPIDs    [][]int64
	}{
		{
			name: "container.id on", containerID: true,
			want:     []map[string]any{hostRes, {"host.name": hostName, "os.type": "linux", "container.id": containerID}},
			wantPIDs: [][]int64{{40, 42}, {41}},
		},
		{
			name: "container.id off", containerID: false,
			want:     []map[string]any{hostRes},
			wantPIDs: [][]int64{{40, 41, 42}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := newFakeRoot(t)
			addProc(t, root, aliceProcess(40, "/bin/a", "a"))
			inContainer := aliceProcess(41, "/bin/b", "b")
			inContainer.cgroup = dockerCgroup
			addProc(t, root, inContainer)
			addProc(t, root, aliceProcess(42, "/bin/c", "c"))
			h := newHarness(t, root, func(c *Config) {
				oneBatchOf(3)(c)
				c.ResourceAttributes.ContainerID.Enabled = tc.containerID
			}, nil)
			h.sendExecs(40, 3)
			require.Eventually(t, func() bool { return h.logs.LogRecordCount() == 3 }, 5*time.Second, 5*time.Millisecond)
			require.Len(t, h.logs.AllLogs(), 1, "one batch")
			attrs, pids := resourcesOf(h.logs)
			require.Equal(t, tc.want, attrs)
			require.Equal(t, tc.wantPIDs, pids)
			for _, r := range records(h.logs) {
				_, ok := r.Attributes().Get(attrContainerID)
				require.False(t, ok, "%s is a resource attribute", attrContainerID)
			}
		})
	}
}

func TestOnlyConfiguredEvents(t *testing.T) {
	root := fakeProc(t, 10, "/bin/x")
	h := newHarness(t, root, func(c *Config) { c.Events = []string{eventExit} }, nil)
	h.send(
		procevent.Event{Kind: procevent.KindExec, PID: 10, TGID: 10},
		procevent.Event{Kind: procevent.KindExit, PID: 10, TGID: 10},
	)
	require.Eventually(t, func() bool { return len(records(h.logs)) == 1 }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, "procmon.exit", records(h.logs)[0].EventName())
	require.Equal(t, "/bin/x", records(h.logs)[0].Attributes().AsRaw()[attrExecutablePath])
}

func TestDefaultEventsLeaveForksOut(t *testing.T) {
	root := fakeProc(t, 10, "/bin/x")
	h := newHarness(t, root, nil, nil)
	h.send(
		procevent.Event{Kind: procevent.KindExec, PID: 10, TGID: 10},
		procevent.Event{Kind: procevent.KindFork, PID: 11, TGID: 11, ParentPID: 10, ParentTGID: 10},
		procevent.Event{Kind: procevent.KindComm, PID: 11, TGID: 11},
		procevent.Event{Kind: procevent.KindExit, PID: 11, TGID: 11},
	)
	// The exit of 11 comes after its fork and comm on the same worker.
	require.Eventually(t, func() bool {
		_, ok := findRecord(records(h.logs), "procmon.exit", 11)
		return ok
	}, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, h.rcv.Shutdown(context.Background()))
	require.Equal(t, []string{"procmon.exec 10", "procmon.exit 11"}, eventNames(records(h.logs)))
}

func TestForkRecords(t *testing.T) {
	root := fakeProc(t, 10, "/bin/x", "x", "--serve")
	h := newHarness(t, root, func(c *Config) { c.Events = []string{"exec", "exit", "fork"} }, nil)
	h.send(
		procevent.Event{Kind: procevent.KindExec, PID: 10, TGID: 10},
		procevent.Event{Kind: procevent.KindFork, PID: 11, TGID: 11, ParentPID: 10, ParentTGID: 10, CPU: 2},
		procevent.Event{Kind: procevent.KindFork, PID: 12, TGID: 10, ParentPID: 10, ParentTGID: 10}, // a thread
		procevent.Event{Kind: procevent.KindUID, PID: 11, TGID: 11, RealID: 0, EffectiveID: 0},      // not configured
		procevent.Event{Kind: procevent.KindExit, PID: 11, TGID: 11, ParentPID: 10, ParentTGID: 10},
		procevent.Event{Kind: procevent.KindExit, PID: 10, TGID: 10},
		procevent.Event{Kind: procevent.KindExit, PID: 12, TGID: 10}, // the thread outlived its leader
	)
	require.Eventually(t, func() bool { return len(records(h.logs)) == 4 }, 5*time.Second, 5*time.Millisecond)
	recs := records(h.logs)
	require.Equal(t, []string{"procmon.exec 10", "procmon.exit 10", "procmon.exit 11", "procmon.fork 11"}, eventNames(recs))

	fork, ok := findRecord(recs, "procmon.fork", 11)
	require.True(t, ok)
	require.Equal(t, "fork /bin/x (pid 11) from pid 10", fork.Body().Str())
	require.Equal(t, plog.SeverityNumberInfo, fork.SeverityNumber())
	attrs := fork.Attributes().AsRaw()
	require.Equal(t, int64(10), attrs[attrParentPID])
	require.Equal(t, "/bin/x", attrs[attrExecutablePath], "a child runs its parent's program until it execs")
	require.Equal(t, "x", attrs[attrExecutableName])
	require.Equal(t, int64(2), attrs[attrCPU])

	exit, ok := findRecord(recs, "procmon.exit", 11)
	require.True(t, ok)
	require.Equal(t, "/bin/x", exit.Attributes().AsRaw()[attrExecutablePath])
	require.Equal(t, int64(10), exit.Attributes().AsRaw()[attrParentPID])
}

func TestAllEvents(t *testing.T) {
	root := fakeProc(t, 10, "/bin/x")
	h := newHarness(t, root, func(c *Config) { c.Events = []string{"all"} }, nil)
	var comm [16]byte
	copy(comm[:], "renamed")
	h.send(
		procevent.Event{Kind: procevent.KindExec, PID: 10, TGID: 10},
		procevent.Event{Kind: procevent.KindFork, PID: 11, TGID: 11, ParentPID: 10, ParentTGID: 10},
		procevent.Event{Kind: procevent.KindComm, PID: 11, TGID: 11, Comm: comm},
		procevent.Event{Kind: procevent.KindUID, PID: 11, TGID: 11, RealID: 1001, EffectiveID: 0},
		procevent.Event{Kind: procevent.KindGID, PID: 11, TGID: 11, RealID: 1001, EffectiveID: 0},
		procevent.Event{Kind: procevent.KindSID, PID: 11, TGID: 11},
		procevent.Event{Kind: procevent.KindPtrace, PID: 11, TGID: 11, TracerPID: 10, TracerTGID: 10},
		procevent.Event{Kind: procevent.KindCoredump, PID: 11, TGID: 11, ParentPID: 10, ParentTGID: 10},
		procevent.Event{Kind: procevent.KindExit, PID: 11, TGID: 11, ExitStatus: 11 | 0x80},
		procevent.Event{Kind: procevent.KindExit, PID: 10, TGID: 10},
	)
	require.Eventually(t, func() bool { return len(records(h.logs)) == 10 }, 5*time.Second, 5*time.Millisecond)
	recs := records(h.logs)
	require.Equal(t, []string{
		"procmon.comm 11", "procmon.coredump 11", "procmon.exec 10", "procmon.exit 10", "procmon.exit 11",
		"procmon.fork 11", "procmon.gid 11", "procmon.ptrace 11", "procmon.sid 11", "procmon.uid 11",
	}, eventNames(recs))

	c, _ := findRecord(recs, "procmon.comm", 11)
	require.Equal(t, "renamed", c.Attributes().AsRaw()[attrNewComm])
	u, _ := findRecord(recs, "procmon.uid", 11)
	require.Equal(t, "root", u.Attributes().AsRaw()[attrOwner])
	require.Equal(t, int64(1001), u.Attributes().AsRaw()[attrPrevUserID], "the previous ids are the parent's, inherited at the fork")
	require.Equal(t, plog.SeverityNumberWarn, u.SeverityNumber(), "becoming root")
	p, _ := findRecord(recs, "procmon.ptrace", 11)
	require.Equal(t, int64(10), p.Attributes().AsRaw()[attrTracerPID])
	d, _ := findRecord(recs, "procmon.coredump", 11)
	require.Equal(t, plog.SeverityNumberError, d.SeverityNumber())
	e, _ := findRecord(recs, "procmon.exit", 11)
	require.Equal(t, plog.SeverityNumberError, e.SeverityNumber())
	require.Equal(t, "SIGSEGV", e.Attributes().AsRaw()[attrExitSignal])
}

func TestFilterDropsExecAndExitAndCountsThem(t *testing.T) {
	root := newFakeRoot(t)
	addProc(t, root, aliceProcess(4242, "/usr/bin/curl", "curl", "http://example.test/"))
	addProc(t, root, aliceProcess(10, "/bin/x", "x"))
	h := newHarness(t, root, func(c *Config) {
		c.Events = []string{"all"}
		c.Filter.Include = &filter.MatchConfig{Names: []string{"curl"}}
	}, nil)
	h.send(
		procevent.Event{Kind: procevent.KindExec, PID: 10, TGID: 10},
		procevent.Event{Kind: procevent.KindExec, PID: 4242, TGID: 4242},
		procevent.Event{Kind: procevent.KindFork, PID: 11, TGID: 11, ParentPID: 10, ParentTGID: 10},
		procevent.Event{Kind: procevent.KindExit, PID: 11, TGID: 11},
		procevent.Event{Kind: procevent.KindExit, PID: 10, TGID: 10, ExitStatus: 1 << 8},
		procevent.Event{Kind: procevent.KindExit, PID: 4242, TGID: 4242},
	)
	require.Eventually(t, func() bool {
		got := latestValues(h.mets)
		return got["procmon.events.filtered/exec"] == 1 && got["procmon.events.filtered/exit"] == 2 &&
			got["procmon.events.filtered/fork"] == 1
	}, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, h.rcv.Shutdown(context.Background()))
	require.Equal(t, []string{"procmon.exec 4242", "procmon.exit 4242"}, eventNames(records(h.logs)))
	got := latestValues(h.mets)
	for _, k := range []string{"uid", "gid", "sid", "ptrace", "comm", "coredump"} {
		require.Zero(t, got["procmon.events.filtered/"+k], k)
	}
}

func TestFilterByContainerAndUser(t *testing.T) {
	root := newFakeRoot(t)
	addProc(t, root, aliceProcess(20, "/usr/bin/curl", "curl"))
	inContainer := aliceProcess(21, "/usr/bin/curl", "curl")
	inContainer.cgroup = dockerCgroup
	addProc(t, root, inContainer)
	asRoot := aliceProcess(22, "/usr/bin/curl", "curl")
	asRoot.uids = [4]uint32{}
	addProc(t, root, asRoot)
	h := newHarness(t, root, func(c *Config) {
		c.Filter.Exclude = &filter.MatchConfig{UIDs: []uint32{0}}
		c.Filter.Containers = filter.HostOnly
	}, nil)
	for pid := int32(20); pid <= 22; pid++ {
		h.send(procevent.Event{Kind: procevent.KindExec, PID: pid, TGID: pid},
			procevent.Event{Kind: procevent.KindExit, PID: pid, TGID: pid})
	}
	require.Eventually(t, func() bool {
		got := latestValues(h.mets)
		return got["procmon.events.filtered/exec"] == 2 && got["procmon.events.filtered/exit"] == 2
	}, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, h.rcv.Shutdown(context.Background()))
	require.Equal(t, []string{"procmon.exec 20", "procmon.exit 20"}, eventNames(records(h.logs)))
}

// requireNoSecret fails if secret is in anything the sink got, serialised
// whole, or in the receiver's own logs.
func requireNoSecret(t *testing.T, h *harness, secret string) {
	t.Helper()
	all := h.logs.AllLogs()
	require.NotEmpty(t, all)
	for _, ld := range all {
		requireNowhere(t, ld, secret)
	}
	for _, e := range h.obs.All() {
		require.NotContains(t, e.Message, secret)
		for k, v := range e.ContextMap() {
			require.NotContains(t, fmt.Sprint(v), secret, k)
		}
	}
}

func TestDefaultConfigNeverExportsHunter2(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"default", func(c *Config) { c.ScanExistingProcesses = true }},
		{"every event", func(c *Config) {
			c.ScanExistingProcesses = true
			c.Events = []string{"all"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := newFakeRoot(t)
			addProc(t, root, aliceProcess(4242, "/usr/bin/mysql", "mysql", "--password=hunter2", "-h", "db"))
			h := newHarness(t, root, tt.edit, nil)
			var comm [16]byte
			copy(comm[:], "mysql")
			h.send(
				procevent.Event{Kind: procevent.KindExec, PID: 4242, TGID: 4242},
				procevent.Event{Kind: procevent.KindFork, PID: 4243, TGID: 4243, ParentPID: 4242, ParentTGID: 4242},
				procevent.Event{Kind: procevent.KindComm, PID: 4243, TGID: 4243, Comm: comm},
				procevent.Event{Kind: procevent.KindExit, PID: 4243, TGID: 4243, ExitStatus: 6},
				procevent.Event{Kind: procevent.KindExit, PID: 4242, TGID: 4242, ExitStatus: 1 << 8},
			)
			// The initial scan's exec, the live exec, and both exits at least.
			require.Eventually(t, func() bool {
				_, ok1 := findRecord(records(h.logs), "procmon.exit", 4242)
				_, ok2 := findRecord(records(h.logs), "procmon.exit", 4243)
				return ok1 && ok2
			}, 5*time.Second, 5*time.Millisecond)
			require.NoError(t, h.rcv.Shutdown(context.Background()))
			recs := records(h.logs)
			require.GreaterOrEqual(t, len(recs), 4)
			requireNoSecret(t, h, "hunter2")

			var scanned bool
			for _, r := range recs {
				attrs := r.Attributes().AsRaw()
				if r.EventName() == "procmon.exec" || (r.EventName() == "procmon.exit" && attrs[attrPID] == int64(4242)) {
					require.Equal(t, []any{"mysql", "--password=***", "-h", "db"}, attrs[attrCommandArgs])
					require.Equal(t, true, attrs[attrRedacted])
				}
				if attrs[attrInitialScan] == true {
					scanned = true
				}
			}
			require.True(t, scanned, "the initial scan reported the process too")
		})
	}
}

func TestCommandLineModeReachesTheRecords(t *testing.T) {
	root := fakeProc(t, 4242, "/usr/bin/mysql", "mysql", "--password=hunter2", "-h", "db")
	h := newHarness(t, root, func(c *Config) { c.CommandLine = "none" }, nil)
	h.send(procevent.Event{Kind: procevent.KindExec, PID: 4242, TGID: 4242})
	require.Eventually(t, func() bool { return len(records(h.logs)) == 1 }, 5*time.Second, 5*time.Millisecond)
	attrs := records(h.logs)[0].Attributes().AsRaw()
	require.NotContains(t, attrs, attrCommandArgs)
	require.NotContains(t, attrs, attrCommand)
	require.Equal(t, int64(4), attrs[attrArgsCount])
}

func TestMaxCommandLineLengthReachesTheRecords(t *testing.T) {
	root := fakeProc(t, 4242, "/usr/bin/echo", "echo", strings.Repeat("z", 100))
	h := newHarness(t, root, func(c *Config) { c.MaxCommandLineLength = 16 }, nil)
	h.send(procevent.Event{Kind: procevent.KindExec, PID: 4242, TGID: 4242})
	require.Eventually(t, func() bool { return len(records(h.logs)) == 1 }, 5*time.Second, 5*time.Millisecond)
	attrs := records(h.logs)[0].Attributes().AsRaw()
	require.Equal(t, []any{"echo", "zzzzzzzzzzzz"}, attrs[attrCommandArgs])
	require.Equal(t, true, attrs[attrTruncated])
}

func TestBatchesBySizeAndFlushesAtShutdown(t *testing.T) {
	h := newHarness(t, t.TempDir(), func(c *Config) {
		c.MaxBatchSize = 3
		c.FlushInterval = time.Hour
		c.Workers = 1
	}, nil)
	for pid := int32(1); pid <= 7; pid++ {
		h.send(procevent.Event{Kind: procevent.KindExec, PID: pid, TGID: pid})
	}
	require.Eventually(t, func() bool { return h.logs.LogRecordCount() == 6 }, 5*time.Second, 5*time.Millisecond)
	for _, ld := range h.logs.AllLogs() {
		require.Equal(t, 3, ld.LogRecordCount(), "a full batch is sent at once")
	}
	require.NoError(t, h.rcv.Shutdown(context.Background()))
	require.Equal(t, 7, h.logs.LogRecordCount(), "Shutdown sends what is left")
}

func TestMetricsCarryTheCounters(t *testing.T) {
	h := newHarness(t, t.TempDir(), nil, nil)
	h.send(
		procevent.Event{Kind: procevent.KindFork, PID: 5, TGID: 5, ParentTGID: 1},
		procevent.Event{Kind: procevent.KindExec, PID: 5, TGID: 5},
		procevent.Event{Kind: procevent.KindExit, PID: 6, TGID: 5}, // a thread
		procevent.Event{Kind: procevent.KindExit, PID: 5, TGID: 5},
		procevent.Event{Kind: procevent.KindExec, PID: 7, TGID: 7}, // still running
	)
	want := map[string]int64{
		"procmon.execs": 2, "procmon.exits": 1, "procmon.callbacks.executed": 3,
		"procmon.events/exit": 2, "procmon.events/fork": 1, "procmon.events/exec": 2,
		"procmon.processes.tracked": 1,
		// Nothing of pids 5 and 7 is in the empty proc root.
		"procmon.enrichment.misses/exe": 2, "procmon.enrichment.misses/stat": 2,
		"procmon.enrichment.misses/status": 2, "procmon.enrichment.misses/cmdline": 2,
		"procmon.enrichment.misses/cwd": 2, "procmon.enrichment.misses/cgroup": 2,
		"procmon.events.filtered/exec": 0, "procmon.events.dropped/exec": 0,
		"procmon.processes.evicted": 0, "procmon.processes.pid_reused": 0,
	}
	var got map[string]int64
	require.Eventually(t, func() bool {
		got = latestValues(h.mets)
		for name, v := range want {
			if g, ok := got[name]; !ok || g != v {
				return false
			}
		}
		return true
	}, 5*time.Second, 5*time.Millisecond, "want %v", want)
	md := h.mets.AllMetrics()[0]
	m := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0)
	start := m.Sum().DataPoints().At(0).StartTimestamp()
	require.Equal(t, h.rcv.startTS, start, "start time is the receiver's start")
	source, ok := md.ResourceMetrics().At(0).Resource().Attributes().Get("procmon.source")
	require.True(t, ok, "the metrics name the source in use")
	require.Equal(t, "fake", source.Str())
}

// latestValues maps each metric (name/attribute value for split ones) to its
// value in the newest export.
func latestValues(sink *consumertest.MetricsSink) map[string]int64 {
	all := sink.AllMetrics()
	out := map[string]int64{}
	if len(all) == 0 {
		return out
	}
	ms := all[len(all)-1].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for _, m := range ms.All() {
		var dps pmetric.NumberDataPointSlice
		switch m.Type() {
		case pmetric.MetricTypeSum:
			dps = m.Sum().DataPoints()
		case pmetric.MetricTypeGauge:
			dps = m.Gauge().DataPoints()
		default:
			continue
		}
		for _, dp := range dps.All() {
			key := m.Name()
			for _, v := range dp.Attributes().All() {
				key += "/" + v.Str()
			}
			out[key] = dp.IntValue()
		}
	}
	return out
}

func TestStartReportsSetupFailure(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.ProcRoot = t.TempDir()
	cfg.ReaderPriority = priorityNormal
	boom := errors.New("subscribing needs CAP_NET_ADMIN")
	opens := 0
	f := newFactory(openerSource(func(*Config) (procevent.Opener, error) {
		return func() (procevent.Source, error) { opens++; return nil, boom }, nil
	}))
	settings := receivertest.NewNopSettings(metadata.Type)
	logs, err := f.CreateLogs(context.Background(), settings, cfg, consumertest.NewNop())
	require.NoError(t, err)
	metrics, err := f.CreateMetrics(context.Background(), settings, cfg, consumertest.NewNop())
	require.NoError(t, err)
	err = logs.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorIs(t, err, boom)
	require.EqualError(t, err, "procmon: subscribing needs CAP_NET_ADMIN")
	// The other pipeline's Start gets the same failure, not a receiver that
	// seems to run.
	require.Equal(t, err, metrics.Start(context.Background(), componenttest.NewNopHost()))
	require.Equal(t, 1, opens, "the source is opened once")
	require.NoError(t, logs.Shutdown(context.Background()))
}

// TestStartNamesBothSources: when source: auto fell back to netlink because
// eBPF cannot run, and netlink cannot either, Start's error says why of each.
func TestStartNamesBothSources(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.ProcRoot = t.TempDir()
	cfg.ReaderPriority = priorityNormal
	noBPF := errors.New("the eBPF source needs CAP_BPF and CAP_PERFMON")
	noNetlink := errors.New("subscribing needs CAP_NET_ADMIN")
	f := newFactory(func(*Config, *zap.Logger) (eventSource, error) {
		return eventSource{
			name: sourceNetlink, why: "the eBPF source cannot run here: " + noBPF.Error(), notEBPF: noBPF,
			open: func() (procevent.Source, error) { return nil, noNetlink },
		}, nil
	})
	logs, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	err = logs.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorIs(t, err, noBPF)
	require.ErrorIs(t, err, noNetlink)
	require.EqualError(t, err, "procmon: neither event source can run here: "+
		"eBPF: the eBPF source needs CAP_BPF and CAP_PERFMON; netlink: subscribing needs CAP_NET_ADMIN")
	require.NoError(t, logs.Shutdown(context.Background()))
}

func TestStartRefusesMissingProcRoot(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.ProcRoot = filepath.Join(t.TempDir(), "nope")
	f := newFactory(openerSource(func(*Config) (procevent.Opener, error) {
		return func() (procevent.Source, error) {
			t.Error("no source may be opened without a proc root")
			return nil, errors.New("unreachable")
		}, nil
	}))
	rcv, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	err = rcv.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "proc_root "+cfg.ProcRoot+" is not readable")
	require.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, rcv.Shutdown(context.Background()))
}

func TestFilterJudgesForksByTheirParentsContainer(t *testing.T) {
	root := newFakeRoot(t)
	shell := aliceProcess(30, "/bin/sh", "sh")
	shell.cgroup = dockerCgroup
	addProc(t, root, shell)
	// The child shows in /proc when its fork is handled, in its parent's
	// cgroup: its worker reads it there.
	child := aliceProcess(31, "/bin/sh", "sh")
	child.cgroup = dockerCgroup
	addProc(t, root, child)
	h := newHarness(t, root, func(c *Config) {
		c.Events = []string{"exec", "exit", "fork"}
		c.Filter.Containers = filter.HostOnly
	}, nil)
	h.send(
		procevent.Event{Kind: procevent.KindExec, PID: 30, TGID: 30},
		procevent.Event{Kind: procevent.KindFork, PID: 31, TGID: 31, ParentPID: 30, ParentTGID: 30},
		procevent.Event{Kind: procevent.KindExit, PID: 31, TGID: 31},
		procevent.Event{Kind: procevent.KindExit, PID: 30, TGID: 30},
	)
	require.Eventually(t, func() bool {
		return h.rcv.mon.Counters().CallbacksExecuted == 4
	}, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, h.rcv.Shutdown(context.Background()))
	// Every record is of the container's shell or of its child.
	require.Empty(t, eventNames(records(h.logs)))
	got := latestValues(h.mets)
	require.Equal(t, int64(1), got["procmon.events.filtered/exec"])
	require.Equal(t, int64(1), got["procmon.events.filtered/fork"])
	require.Equal(t, int64(2), got["procmon.events.filtered/exit"])
}

func TestUIDRecordsCompareWithTheLastChange(t *testing.T) {
	root := newFakeRoot(t)
	daemon := aliceProcess(50, "/usr/sbin/daemon", "daemon")
	daemon.uids = [4]uint32{}
	addProc(t, root, daemon)
	h := newHarness(t, root, func(c *Config) { c.Events = []string{"exec", "uid"} }, nil)
	h.send(
		procevent.Event{Kind: procevent.KindExec, PID: 50, TGID: 50},
		procevent.Event{Kind: procevent.KindUID, PID: 50, TGID: 50, RealID: 0, EffectiveID: 1001},
		procevent.Event{Kind: procevent.KindUID, PID: 50, TGID: 50, RealID: 0, EffectiveID: 0},
	)
	require.Eventually(t, func() bool { return len(records(h.logs)) == 3 }, 5*time.Second, 5*time.Millisecond)
	recs := records(h.logs)
	// One worker handles one pid, so its records keep their order.
	drop, regain := recs[1].Attributes().AsRaw(), recs[2].Attributes().AsRaw()
	require.Equal(t, int64(0), drop[attrPrevUserID])
	require.Equal(t, plog.SeverityNumberInfo, recs[1].SeverityNumber())
	require.Equal(t, int64(1001), regain[attrPrevUserID])
	require.Equal(t, plog.SeverityNumberWarn, recs[2].SeverityNumber(), "regaining root is becoming root")
}

func TestShutdownAfterStartFailedOnTheRecordPipeline(t *testing.T) {
	fake := &countingOpener{}
	f := newFactory(openerSource(fake.openerFunc))
	cfg := factoryTestConfig(t)
	cfg.CommandLine = "masked"
	rcv, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	for range 2 { // the logs and the metrics pipelines' Start
		require.EqualError(t, rcv.Start(context.Background(), componenttest.NewNopHost()),
			`command_line: unknown mode "masked"; use full, redacted or none`)
	}
	require.NotPanics(t, func() { _ = rcv.Shutdown(context.Background()) })
	require.Empty(t, fake.opened())
}
