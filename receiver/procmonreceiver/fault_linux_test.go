package procmonreceiver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/internal/procmon"
	"github.com/procmon-otel/procmon/internal/testutil"
	"github.com/procmon-otel/procmon/receiver/procmonreceiver/internal/metadata"
)

// Event names of the records the fault tests follow.
const (
	recExec = "procmon.exec"
	recExit = "procmon.exit"
)

// recordIndex counts the records it is given by event name and pid, and by
// event name and parent pid, so that tens of thousands of them can be looked
// up while they keep coming.
type recordIndex struct {
	mu       sync.Mutex
	byName   map[string]map[int64]int
	byParent map[string]map[int64]int
	n        int
}

func newRecordIndex() *recordIndex {
	return &recordIndex{byName: map[string]map[int64]int{}, byParent: map[string]map[int64]int{}}
}

// bump adds one to m[name][key].
func bump(m map[string]map[int64]int, name string, key int64) {
	if m[name] == nil {
		m[name] = map[int64]int{}
	}
	m[name][key]++
}

func (x *recordIndex) add(ld plog.Logs) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, r := range sl.LogRecords().All() {
				pid, _ := r.Attributes().Get(attrPID)
				parent, _ := r.Attributes().Get(attrParentPID)
				bump(x.byName, r.EventName(), pid.Int())
				bump(x.byParent, r.EventName(), parent.Int())
				x.n++
			}
		}
	}
}

func (x *recordIndex) count(name string, pid int64) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.byName[name][pid]
}

// children counts the records of name whose parent is ppid.
func (x *recordIndex) children(name string, ppid int64) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.byParent[name][ppid]
}

func (x *recordIndex) total() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.n
}

// missing counts the processes of pids (a pid once per process, so a reused
// pid is listed again) that have no record of name in any of the indexes.
func missing(name string, pids []int64, idx ...*recordIndex) int {
	want := map[int64]int{}
	for _, p := range pids {
		want[p]++
	}
	n := 0
	for p, w := range want {
		got := 0
		for _, x := range idx {
			got += x.count(name, p)
		}
		n += max(0, w-got)
	}
	return n
}

// stormChild is a storm run by a child process (this test binary, see
// TestMain), started without waiting for it.
type stormChild struct {
	cmd     *exec.Cmd
	out     bytes.Buffer
	pidFile string
	waited  bool
}

// startStorm starts runs of program (or forks, for "fork") from workers in a
// child process; the child is killed at cleanup if the test did not wait.
func startStorm(t *testing.T, program string, runs, workers int) *stormChild {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	s := &stormChild{pidFile: filepath.Join(t.TempDir(), "pids")}
	s.cmd = exec.Command(self)
	s.cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d:%d:%s:%s", stormEnv, runs, workers, program, s.pidFile))
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	require.NoError(t, s.cmd.Start())
	t.Cleanup(func() {
		if !s.waited {
			_ = s.cmd.Process.Kill()
			_ = s.cmd.Wait()
		}
	})
	return s
}

// wait waits for the storm and returns its pids, a reused pid once per
// process.
func (s *stormChild) wait(t *testing.T) []int64 {
	t.Helper()
	s.waited = true
	require.NoError(t, s.cmd.Wait(), "storm: %s", s.out.String())
	data, err := os.ReadFile(s.pidFile)
	require.NoError(t, err)
	var pids []int64
	for _, line := range strings.Fields(string(data)) {
		pid, err := strconv.ParseInt(line, 10, 64)
		require.NoError(t, err)
		pids = append(pids, pid)
	}
	return pids
}

// runStormChild runs a storm to its end and returns its pids.
func runStormChild(t *testing.T, program string, runs, workers int) []int64 {
	t.Helper()
	return startStorm(t, program, runs, workers).wait(t)
}

// copyProbe copies /bin/true under a short name of its own, so that its
// processes are told apart from the host's.
func copyProbe(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("/bin/true")
	require.NoError(t, err)
	probe := filepath.Join(t.TempDir(), "pmprobe")
	require.NoError(t, os.WriteFile(probe, data, 0o755))
	return probe
}

// runProbe runs probe once and returns its pid.
func runProbe(t *testing.T, probe string) int64 {
	t.Helper()
	cmd := exec.Command(probe)
	require.NoError(t, cmd.Run())
	return int64(cmd.Process.Pid)
}

// runOnEachCPU runs probe once pinned to each CPU the test may use. The
// kernel numbers events per CPU, so a loss at the end of a storm is only seen
// at the next event of the same CPU; this makes one on every CPU.
func runOnEachCPU(t *testing.T, probe string) {
	t.Helper()
	var allowed unix.CPUSet
	require.NoError(t, unix.SchedGetaffinity(0, &allowed))
	errs := make(chan error, 1024)
	var wg sync.WaitGroup
	for cpu := range 1024 {
		if !allowed.IsSet(cpu) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Never unlocked: the pinned thread ends with this goroutine.
			runtime.LockOSThread()
			var one unix.CPUSet
			one.Set(cpu)
			if err := unix.SchedSetaffinity(0, &one); err != nil {
				errs <- fmt.Errorf("pinning to cpu %d: %w", cpu, err)
				return
			}
			if err := exec.Command(probe).Run(); err != nil {
				errs <- fmt.Errorf("probe on cpu %d: %w", cpu, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// startFaultReceiver creates and starts a logs receiver on the kernel's proc
// connector with cfg adjusted by edit, and shuts it down at cleanup.
func startFaultReceiver(t *testing.T, set receiver.Settings, edit func(*Config), next consumer.Logs) *procmonReceiver {
	t.Helper()
	cfg := createDefaultConfig()
	cfg.Source = sourceNetlink
	cfg.ScanExistingProcesses = false
	cfg.FlushInterval = 10 * time.Millisecond
	if edit != nil {
		edit(cfg)
	}
	rcv, err := NewFactory().CreateLogs(context.Background(), set, cfg, next)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, rcv.Shutdown(context.Background())) })
	return rcv.(*procmonReceiver)
}

// eventually is require.Eventually with a message built when it fails, so
// that it shows the values of then, not of the call.
func eventually(t *testing.T, cond func() bool, waitFor time.Duration, msg func() string) {
	t.Helper()
	if !assert.Eventually(t, cond, waitFor, 20*time.Millisecond) {
		t.Fatal(msg())
	}
}

// logsConsumer wraps fn as a consumer.Logs.
func logsConsumer(t *testing.T, fn consumer.ConsumeLogsFunc) consumer.Logs {
	t.Helper()
	next, err := consumer.NewLogs(fn)
	require.NoError(t, err)
	return next
}

// TestFaultKernelOverrunWithBlockedConsumer overruns a tiny receive buffer
// with a fork storm while the next consumer blocks every worker, then
// releases the consumer and checks that delivery goes on and that every exit
// record of the storm that never came is counted as lost or dropped.
func TestFaultKernelOverrunWithBlockedConsumer(t *testing.T) {
	testutil.RequireRoot(t)
	probe := copyProbe(t)
	gate := make(chan struct{})
	release := sync.OnceFunc(func() { close(gate) })
	var blocked atomic.Int64
	idx := newRecordIndex()
	next := logsConsumer(t, func(_ context.Context, ld plog.Logs) error {
		blocked.Add(1)
		<-gate
		idx.add(ld)
		return nil
	})
	// The kernel raises 4096 to its minimum: a few messages' room.
	rcv := startFaultReceiver(t, receivertest.NewNopSettings(metadata.Type),
		func(c *Config) { c.ReceiveBufferBytes = 4096 }, next)
	t.Cleanup(release) // runs before the receiver's Shutdown, which flushes
	mon := rcv.mon
	before := mon.Counters()

	// The storm's children are told by their parent, the storm process:
	// loadgen.ForkStorm does not report their pids (see
	// TestFaultForkStormReportsItsPIDs).
	const runs = 50000
	storm := startStorm(t, "fork", runs, 2)
	stormPID := int64(storm.cmd.Process.Pid)
	require.Len(t, storm.wait(t), runs)
	during := mon.Counters()
	t.Logf("after the storm, consumer blocked: calls waiting %d, overruns %d, kernel lost %d, restarts %d, dropped exit %d, exits seen %d",
		blocked.Load(), during.Overruns, during.KernelLost, during.Restarts, during.Dropped[procevent.KindExit], during.Exit-before.Exit)
	require.Positive(t, blocked.Load(), "the consumer never blocked a call")
	require.True(t, during.Overruns > 0 || during.KernelLost > 0,
		"a %d-fork storm into the kernel's smallest receive buffer neither overran it nor lost an event", runs)
	require.Positive(t, during.Dropped[procevent.KindExit], "a blocked consumer must fill the queues, and the excess be dropped")

	release()
	// An event on every CPU makes the source see the gaps the storm left.
	runOnEachCPU(t, probe)
	// Every exit record of the storm that never comes is counted: once the
	// queues drained, the missing ones are at most the kernel's losses and
	// the drops.
	accounted := func() (c procmon.Counters, delivered, gone int, ok bool) {
		c = mon.Counters()
		delivered = idx.children(recExit, stormPID)
		gone = runs - delivered
		return c, delivered, gone, uint64(gone) <= c.KernelLost+c.Dropped[procevent.KindExit]
	}
	eventually(t, func() bool {
		_, _, _, ok := accounted()
		return ok
	}, 20*time.Second, func() string {
		c, delivered, gone, _ := accounted()
		return fmt.Sprintf("%d exit records of the storm missing (%d delivered), only %d lost and %d dropped",
			gone, delivered, c.KernelLost, c.Dropped[procevent.KindExit])
	})

	// Delivery goes on. The queues may still be draining and the tiny buffer
	// may lose a probe's events to other processes' bursts, so probes run
	// until one of them is reported whole.
	var probes []int64
	var probeErr error
	eventually(t, func() bool {
		cmd := exec.Command(probe)
		if probeErr = cmd.Run(); probeErr != nil {
			return false
		}
		probes = append(probes, int64(cmd.Process.Pid))
		for _, pid := range probes {
			if idx.count(recExec, pid) == 1 && idx.count(recExit, pid) == 1 {
				return true
			}
		}
		return false
	}, 20*time.Second, func() string {
		return fmt.Sprintf("no probe was reported whole after the overrun (last error %v)", probeErr)
	})

	c, delivered, gone, ok := accounted()
	t.Logf("probes run until one was reported whole: %d", len(probes))
	t.Logf("storm exits %d: delivered %d, missing %d; overruns %d, kernel lost %d, dropped exit %d, dropped fork %d, dropped exec %d, restarts %d",
		runs, delivered, gone, c.Overruns, c.KernelLost, c.Dropped[procevent.KindExit], c.Dropped[procevent.KindFork],
		c.Dropped[procevent.KindExec], c.Restarts)
	require.True(t, ok, "every missing exit record is a kernel loss or a drop")
	require.Positive(t, delivered, "no exit record of the storm was delivered")
	if gone > 0 {
		require.Positive(t, c.KernelLost+c.Dropped[procevent.KindExit]+c.Dropped[procevent.KindFork],
			"%d exit records of the storm are missing and nothing was counted lost or dropped", gone)
	}
	// An overrun is carried on from, not restarted: the socket stays good.
	require.Zero(t, c.Restarts, "an overrun must not restart the source")
	require.Zero(t, c.ReinitFailures)
}

// TestFaultForkStormReportsItsPIDs checks what the fault tests would like to
// follow a fork storm by: the pids loadgen.ForkStorm reports.
func TestFaultForkStormReportsItsPIDs(t *testing.T) {
	testutil.RequireRoot(t)
	pids := runStormChild(t, "fork", 100, 2)
	require.Len(t, pids, 100)
	require.NotContains(t, pids, int64(0))
}

// failingConsumer refuses n calls with a permanent error, the next n with a
// retryable one, then delivers; it indexes what it refused and what it
// delivered. The failures start with the first call that carries a child of
// the storm process, so that they fall in the storm whatever else the host
// runs.
type failingConsumer struct {
	n                  int64
	stormPID           atomic.Int64
	calls              atomic.Int64 // calls since the storm's first record
	refused, delivered *recordIndex
	refusedRecords     atomic.Int64
}

func (f *failingConsumer) consume(_ context.Context, ld plog.Logs) error {
	if f.calls.Load() == 0 && !hasChildOf(ld, f.stormPID.Load()) {
		f.delivered.add(ld)
		return nil
	}
	call := f.calls.Add(1)
	switch {
	case call <= f.n:
		f.refused.add(ld)
		f.refusedRecords.Add(int64(ld.LogRecordCount()))
		return consumererror.NewPermanent(errors.New("the pipeline refuses these records for good"))
	case call <= 2*f.n:
		f.refused.add(ld)
		f.refusedRecords.Add(int64(ld.LogRecordCount()))
		return errors.New("the pipeline is busy; try later")
	}
	f.delivered.add(ld)
	return nil
}

// hasChildOf reports whether ld has a record of a child of ppid.
func hasChildOf(ld plog.Logs, ppid int64) bool {
	if ppid == 0 {
		return false
	}
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, r := range sl.LogRecords().All() {
				if v, ok := r.Attributes().Get(attrParentPID); ok && v.Int() == ppid {
					return true
				}
			}
		}
	}
	return false
}

// receiverCount sums the data points of the receiver's own counter name for
// the receiver id, checking their transport.
func receiverCount(t *testing.T, tel *componenttest.Telemetry, name string, id component.ID) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	require.NoError(t, err)
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is a %T", name, m.Data)
	var n int64
	for _, dp := range sum.DataPoints {
		if v, ok := dp.Attributes.Value("receiver"); !ok || v.AsString() != id.String() {
			continue
		}
		transport, _ := dp.Attributes.Value("transport")
		require.Equal(t, sourceNetlink, transport.AsString())
		n += dp.Value
	}
	return n
}

// TestFaultFailingConsumer runs an exec storm into a consumer that refuses
// permanently, then retryably, then accepts: the reader keeps counting every
// exec, ObsReport counts the refused records, memory stays bounded and a
// probe after the recovery is delivered.
func TestFaultFailingConsumer(t *testing.T) {
	testutil.RequireRoot(t)
	probe := copyProbe(t)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	fc := &failingConsumer{n: 10, refused: newRecordIndex(), delivered: newRecordIndex()}
	rcv := startFaultReceiver(t, set, nil, logsConsumer(t, fc.consume))
	mon := rcv.mon
	before := mon.Counters()

	const runs = 2000
	storm := startStorm(t, probe, runs, 2)
	fc.stormPID.Store(int64(storm.cmd.Process.Pid))
	pids := storm.wait(t)
	require.Len(t, pids, runs)
	// The reader never waits on the consumer: every exec of the storm is
	// counted, failures or not.
	eventually(t, func() bool { return mon.Counters().Exec-before.Exec >= runs }, 10*time.Second, func() string {
		return fmt.Sprintf("execs counted: %d of the storm's %d", mon.Counters().Exec-before.Exec, runs)
	})
	require.Zero(t, mon.Counters().KernelLost-before.KernelLost, "the reader fell behind the kernel")
	eventually(t, func() bool { return fc.calls.Load() > 2*fc.n }, 10*time.Second, func() string {
		return fmt.Sprintf("only %d calls", fc.calls.Load())
	})
	refusedStorm := runs - missing(recExec, pids, fc.refused)
	require.Positive(t, refusedStorm, "the failures must fall in the storm")

	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	heap := mem.HeapInuse
	runtime.GC()
	runtime.ReadMemStats(&mem)
	t.Logf("heap in use after the storm: %.1f MiB, %.1f MiB after a GC", float64(heap)/(1<<20), float64(mem.HeapInuse)/(1<<20))
	require.Less(t, heap, uint64(200<<20))

	pid := runProbe(t, probe)
	require.Eventually(t, func() bool { return fc.delivered.count(recExec, pid) == 1 }, 10*time.Second, 10*time.Millisecond,
		"the probe %d was not delivered after the consumer recovered", pid)

	// After Shutdown nothing is in flight, so the counts are exact.
	require.NoError(t, rcv.Shutdown(context.Background()))
	c := mon.Counters()
	refused := receiverCount(t, tel, "otelcol_receiver_refused_log_records", set.ID)
	accepted := receiverCount(t, tel, "otelcol_receiver_accepted_log_records", set.ID)
	t.Logf("calls %d; records refused %d (%d storm execs among them), accepted %d; dropped exec %d, exit %d; kernel lost %d",
		fc.calls.Load(), refused, refusedStorm, accepted, c.Dropped[procevent.KindExec], c.Dropped[procevent.KindExit], c.KernelLost)
	require.Positive(t, refused)
	require.Equal(t, fc.refusedRecords.Load(), refused, "ObsReport counts every refused record")
	require.Equal(t, int64(fc.delivered.total()), accepted)
	gone := missing(recExec, pids, fc.refused, fc.delivered)
	require.LessOrEqual(t, uint64(gone), c.KernelLost+c.Dropped[procevent.KindExec],
		"%d exec records of the storm were neither delivered, refused nor counted", gone)
}

// shutdownReturns shuts rcv down and fails the test if that hangs; it
// returns how long it took. DrainTimeout bounds the wait for the workers
// (procmon's TestStopCountsWhatItCannotDeliver); how long Shutdown takes is
// logged, not asserted: test machines are shared and noisy.
func shutdownReturns(t *testing.T, rcv *procmonReceiver, state func() string) time.Duration {
	const limit = 30 * time.Second
	t.Helper()
	done := make(chan struct{})
	var took time.Duration
	var err error
	start := time.Now()
	go func() {
		defer close(done)
		err = rcv.Shutdown(context.Background())
		took = time.Since(start)
	}()
	t.Cleanup(func() { <-done })
	select {
	case <-done:
		require.NoError(t, err)
	case <-time.After(limit):
		t.Fatalf("Shutdown did not return within %s (%s)", limit, state())
	}
	return took
}

// TestFaultSlowConsumer runs storms into a consumer that takes 100 ms a
// call: nothing deadlocks, what is lost is counted, and Shutdown returns.
func TestFaultSlowConsumer(t *testing.T) {
	testutil.RequireRoot(t)
	t.Run("exec_storm", func(t *testing.T) {
		probe := copyProbe(t)
		idx := newRecordIndex()
		var calls atomic.Int64
		next := logsConsumer(t, func(_ context.Context, ld plog.Logs) error {
			calls.Add(1)
			time.Sleep(100 * time.Millisecond)
			idx.add(ld)
			return nil
		})
		rcv := startFaultReceiver(t, receivertest.NewNopSettings(metadata.Type), nil, next)
		mon := rcv.mon

		const runs = 5000
		pids := runStormChild(t, probe, runs, 2)
		require.Len(t, pids, runs)
		at := mon.Counters()
		took := shutdownReturns(t, rcv, func() string {
			return fmt.Sprintf("calls so far %d, dropped exec %d, exit %d", calls.Load(), at.Dropped[procevent.KindExec], at.Dropped[procevent.KindExit])
		})

		c := mon.Counters()
		goneExec, goneExit := missing(recExec, pids, idx), missing(recExit, pids, idx)
		t.Logf("Shutdown took %s; calls %d, records %d; dropped exec %d, exit %d; kernel lost %d; storm execs missing %d, exits missing %d",
			took, calls.Load(), idx.total(), c.Dropped[procevent.KindExec], c.Dropped[procevent.KindExit], c.KernelLost, goneExec, goneExit)
		require.LessOrEqual(t, uint64(goneExec+goneExit), c.KernelLost+c.Dropped[procevent.KindExec]+c.Dropped[procevent.KindExit],
			"every record of the storm is delivered or counted")
	})

	// The worst case for Shutdown: every worker queue full when it is called,
	// each event still to go through the 100 ms consumer.
	t.Run("full_queues", func(t *testing.T) {
		gate := make(chan struct{})
		release := sync.OnceFunc(func() { close(gate) })
		idx := newRecordIndex()
		var calls atomic.Int64
		next := logsConsumer(t, func(_ context.Context, ld plog.Logs) error {
			calls.Add(1)
			<-gate
			time.Sleep(100 * time.Millisecond)
			idx.add(ld)
			return nil
		})
		rcv := startFaultReceiver(t, receivertest.NewNopSettings(metadata.Type), nil, next)
		t.Cleanup(release)
		mon := rcv.mon

		const runs = 20000
		storm := startStorm(t, "fork", runs, 2)
		stormPID := int64(storm.cmd.Process.Pid)
		require.Len(t, storm.wait(t), runs)
		at := mon.Counters()
		require.Positive(t, at.Dropped[procevent.KindExit], "the queues never filled")
		release()
		took := shutdownReturns(t, rcv, func() string {
			return fmt.Sprintf("calls so far %d, records delivered %d, dropped exit %d", calls.Load(), idx.total(), at.Dropped[procevent.KindExit])
		})

		c := mon.Counters()
		gone := runs - idx.children(recExit, stormPID)
		t.Logf("Shutdown took %s; calls %d, records %d; dropped exit %d; kernel lost %d; storm exits missing %d",
			took, calls.Load(), idx.total(), c.Dropped[procevent.KindExit], c.KernelLost, gone)
		require.LessOrEqual(t, uint64(gone), c.KernelLost+c.Dropped[procevent.KindExit],
			"every exit record of the storm is delivered or counted")
	})
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}

// connectorSockets counts this process's NETLINK_CONNECTOR sockets: its
// socket descriptors whose inode the netlink table lists with protocol 11.
func connectorSockets(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/self/net/netlink")
	require.NoError(t, err)
	defer f.Close()
	connector := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 10 && fields[1] == strconv.Itoa(unix.NETLINK_CONNECTOR) {
			connector[fields[9]] = true
		}
	}
	require.NoError(t, sc.Err())
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	n := 0
	for _, e := range ents {
		link, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if inode, ok := strings.CutPrefix(link, "socket:["); ok && connector[strings.TrimSuffix(inode, "]")] {
			n++
		}
	}
	return n
}

// TestFaultShutdownMidStormAndCycles shuts the receiver down in the middle of
// a fork storm, then creates, starts and shuts it down a hundred times, and
// checks that no goroutine, descriptor or connector socket is left.
func TestFaultShutdownMidStormAndCycles(t *testing.T) {
	testutil.RequireRoot(t)
	cfg := createDefaultConfig()
	cfg.Source = sourceNetlink
	cfg.ScanExistingProcesses = false
	cfg.FlushInterval = 10 * time.Millisecond
	set := receivertest.NewNopSettings(metadata.Type)
	ctx := context.Background()

	rcv, err := NewFactory().CreateLogs(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, rcv.Start(ctx, componenttest.NewNopHost()))
	mon := rcv.(*procmonReceiver).mon
	storm := startStorm(t, "fork", 50000, 2)
	time.Sleep(200 * time.Millisecond)
	require.True(t, processRunning(storm.cmd.Process.Pid), "the storm ended before Shutdown")
	start := time.Now()
	require.NoError(t, rcv.Shutdown(ctx))
	took := time.Since(start)
	stopped := mon.Counters()
	pids := storm.wait(t)
	t.Logf("Shutdown in the storm took %s (exits seen %d, the storm's children %d)", took, stopped.Exit, len(pids))
	require.Equal(t, stopped, mon.Counters(), "the monitor kept counting after Shutdown")
	require.Zero(t, connectorSockets(t), "a connector socket outlived Shutdown")

	f := NewFactory()
	cycle := func(i int) {
		if i%2 == 1 {
			f = NewFactory()
		}
		lr, err := f.CreateLogs(ctx, set, cfg, consumertest.NewNop())
		require.NoError(t, err)
		mr, err := f.CreateMetrics(ctx, set, cfg, consumertest.NewNop())
		require.NoError(t, err)
		require.Same(t, lr, mr, "cycle %d", i)
		require.NoError(t, lr.Start(ctx, componenttest.NewNopHost()), "cycle %d", i)
		if i == 0 {
			require.Equal(t, 1, connectorSockets(t), "a running receiver holds one connector socket")
		}
		require.NoError(t, lr.Shutdown(ctx), "cycle %d", i)
	}
	cycle(0) // warm-up: the runtime opens what it keeps on first use
	before := openFDs(t)
	for i := 1; i <= 100; i++ {
		cycle(i)
	}
	require.Equal(t, before, openFDs(t), "open descriptors before and after 100 cycles")
	require.Zero(t, connectorSockets(t), "a connector socket outlived the cycles")
	goleak.VerifyNone(t)
}

// processRunning reports whether pid exists and is not a zombie.
func processRunning(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z'
}

// TestFaultForeignNetworkNamespace starts the receiver from a thread that
// sits in a fresh network namespace: the source makes its socket in the root
// one, so events still arrive.
func TestFaultForeignNetworkNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	probe := copyProbe(t)
	testutil.InFreshNetNS(t, func() {
		freshIno := testutil.ThreadNetNS(t)
		idx := newRecordIndex()
		next := logsConsumer(t, func(_ context.Context, ld plog.Logs) error {
			idx.add(ld)
			return nil
		})
		startFaultReceiver(t, receivertest.NewNopSettings(metadata.Type), nil, next)
		require.Equal(t, freshIno, testutil.ThreadNetNS(t), "Start must leave the thread in its namespace")

		pid := runProbe(t, probe)
		require.Eventually(t, func() bool { return idx.count(recExec, pid) == 1 }, 10*time.Second, 10*time.Millisecond,
			"the probe %d run from a fresh network namespace was not reported", pid)
	})
}
