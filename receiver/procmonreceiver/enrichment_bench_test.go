package procmonreceiver

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/procmon-otel/procmon/internal/testutil"
	"github.com/procmon-otel/procmon/receiver/procmonreceiver/internal/metadata"
)

// BenchmarkEnrichmentStorm runs an exec storm (20,000 runs of a copy of
// /bin/true from 2 workers) against the receiver, with the eBPF source and
// with the netlink source at each reader_priority, and reports the share of
// exec records whose executable path and name are right. The copy's name is short enough to survive in the kernel's 15-byte
// command name, which is what a process gone before its exe link was read
// still shows. Run it with -benchtime 1x.
func BenchmarkEnrichmentStorm(b *testing.B) {
	testutil.RequireRoot(b)
	const runs, workers = 20000, 2
	dir := b.TempDir()
	probe := filepath.Join(dir, "pmtrue")
	data, err := os.ReadFile("/bin/true")
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(probe, data, 0o755); err != nil {
		b.Fatal(err)
	}
	for _, run := range []struct{ name, source, prio string }{
		{"ebpf", sourceEBPF, priorityNormal},
		{"netlink/realtime", sourceNetlink, priorityRealtime},
		{"netlink/high", sourceNetlink, priorityHigh},
		{"netlink/normal", sourceNetlink, priorityNormal},
	} {
		b.Run(run.name, func(b *testing.B) {
			var paths, names, seen, total int
			for range b.N {
				p, n, s := stormOnce(b, run.source, run.prio, probe, runs, workers)
				paths, names, seen, total = paths+p, names+n, seen+s, total+runs
			}
			b.ReportMetric(100*float64(paths)/float64(total), "%path")
			b.ReportMetric(100*float64(names)/float64(total), "%name")
			b.ReportMetric(100*float64(seen)/float64(total), "%reported")
		})
	}
}

// stormOnce runs one storm against a fresh receiver and counts the storm's
// exec records with the right path and the right name, and all of them.
func stormOnce(b *testing.B, source, prio, probe string, runs, workers int) (paths, names, seen int) {
	cfg := createDefaultConfig()
	cfg.Source = source
	cfg.ScanExistingProcesses = false
	cfg.Events = []string{eventExec}
	cfg.ReaderPriority = prio
	sink := new(consumertest.LogsSink)
	rcv, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, sink)
	if err != nil {
		b.Fatal(err)
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	want := stormInChild(b, probe, runs, workers)
	// Every exec is in the sink once the flush after the storm has run.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && countStorm(sink, want) < runs {
		time.Sleep(100 * time.Millisecond)
	}
	if err := rcv.Shutdown(context.Background()); err != nil {
		b.Fatal(err)
	}
	for _, r := range records(sink) {
		pid, _ := r.Attributes().Get(attrPID)
		if !want[pid.Int()] {
			continue
		}
		seen++
		if v, ok := r.Attributes().Get(attrExecutablePath); ok && v.Str() == probe {
			paths++
		}
		if v, ok := r.Attributes().Get(attrExecutableName); ok && v.Str() == filepath.Base(probe) {
			names++
		}
	}
	return paths, names, seen
}

// stormInChild runs the storm from a child process (this test binary, see
// TestMain) and returns its pids.
func stormInChild(b testing.TB, probe string, runs, workers int) map[int64]bool {
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	pidFile := filepath.Join(b.TempDir(), "pids")
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d:%d:%s:%s", stormEnv, runs, workers, probe, pidFile))
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("storm: %v: %s", err, out)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		b.Fatal(err)
	}
	want := make(map[int64]bool, runs)
	for _, line := range strings.Fields(string(data)) {
		pid, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		want[pid] = true
	}
	return want
}

// countStorm counts the records in sink whose pid is one of want's.
func countStorm(sink *consumertest.LogsSink, want map[int64]bool) int {
	n := 0
	for _, r := range records(sink) {
		if pid, ok := r.Attributes().Get(attrPID); ok && want[pid.Int()] {
			n++
		}
	}
	return n
}
