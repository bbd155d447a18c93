//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/procmon-otel/procmon/internal/loadgen"
)

// backpressureConfig, merged over testdata/e2e-collector.yaml, puts a
// memory_limiter in the logs pipeline whose soft limit (15 MiB) is several
// times the collector's heap at rest, and makes procmon's batches large
// (up to 50,000 records a second): a fork storm's batches then drive the
// limiter over its limit. A refused batch is held for at most 3s.
const backpressureConfig = `receivers:
  procmon:
    max_batch_size: 5000
    flush_interval: 1s
    retry_on_failure:
      max_interval: 1s
      max_elapsed_time: 3s
processors:
  memory_limiter:
    check_interval: 50ms
    limit_mib: 20
    spike_limit_mib: 5
service:
  pipelines:
    logs:
      processors: [memory_limiter]
`

// backpressureForks is the size of the fork storm: at about 10,000 forks a
// second here, a second's batch holds tens of megabytes of records.
const backpressureForks = 20000

// TestBackpressureAccount drives a memory_limiter over its limit during a
// fork storm and checks, pid by pid, that every process's exit record
// arrived or is counted, and that procmon's counters add up: every exec and
// exit it handled is delivered, dropped, filtered or refused.
func TestBackpressureAccount(t *testing.T) { forEachSource(t, testBackpressureAccount) }

func testBackpressureAccount(t *testing.T, source string) {
	extra := filepath.Join(t.TempDir(), "backpressure.yaml")
	require.NoError(t, os.WriteFile(extra, []byte(backpressureConfig), 0o644))
	var a account
	// Registered first, so run last: the account closes the test's output,
	// next to its verdict.
	t.Cleanup(func() { t.Logf("%s: %s", source, a) })
	r := startReporting(t, source, e2eConfig(t), extra)
	col, logs, metrics := r.collector, r.logs, r.metrics

	forks, err := loadgen.ForkStorm(backpressureForks, 2)
	require.NoError(t, err)
	t.Logf("%s: fork storm %.0f/s", source, forks.Rate())
	// Wait until the sink holds every record procmon delivered: a quiet spell
	// is not enough, as a batch may be held or on its way to the sink.
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if a, err = readAccount(logs, metrics, forks.PIDs); err == nil && a.closes() {
			break
		}
	}
	// Shutdown sends what is batched, counts a batch still held as refused,
	// and the last export of the counters carries every count.
	stopCollector(t, col)
	a, err = readAccount(logs, metrics, forks.PIDs)
	require.NoError(t, err)
	out := col.out.String()
	require.Contains(t, out, "Memory usage is above soft limit", "the storm did not drive the memory_limiter over its limit")
	a.held = strings.Count(out, "took procmon's held log records")
	assert.Positive(t, a.refused+int64(a.held), "no batch was refused or held")
	assertSignalAgnostic(t, out)

	// Pid by pid: each missing exit is among what procmon counted.
	assert.LessOrEqual(t, int64(a.missing), a.dropped+a.refused+a.lost, "exits missing beyond what procmon counted")
	if source == sourceEBPF {
		assert.Zero(t, a.lost, "procmon.events.lost")
		// Every exec and exit handled is accounted for, exactly. Records of
		// the /proc scans are not execs; the eBPF source scans only at start,
		// and those records were delivered before the storm.
		assert.Equal(t, a.handled, a.delivered+a.dropped+a.filtered+a.refused,
			"execs and exits handled = delivered + dropped + filtered + refused")
	} else {
		// The netlink source also rescans /proc after an overrun; the
		// records of a rescan may stand for execs it handled.
		assert.LessOrEqual(t, a.handled, a.delivered+a.scanned+a.dropped+a.filtered+a.refused,
			"execs and exits handled beyond what was delivered or counted")
	}
}

// account is what became of a storm's processes: the exits missing at the
// sink, and procmon's own counts of the execs and exits it handled.
type account struct {
	missing, storm, held                                          int
	handled, delivered, scanned, dropped, filtered, refused, lost int64
}

// readAccount reads the account from what the sink holds: the records and
// the newest export of procmon's counters.
func readAccount(logs *consumertest.LogsSink, metrics *consumertest.MetricsSink, pids []int32) (account, error) {
	a := account{storm: len(pids)}
	_, _, a.missing = missingRecords(logs, nil, pids)
	for _, c := range []struct {
		name string
		to   *int64
	}{{"procmon.execs", &a.handled}, {"procmon.exits", &a.handled}, {"procmon.events.lost", &a.lost}} {
		v, err := latestSum(metrics, c.name)
		if err != nil {
			return a, err
		}
		*c.to += v
	}
	where := func(name, key, value string) int64 {
		v, _ := latestSumWhere(metrics, name, key, value)
		return v
	}
	for _, kind := range []string{"exec", "exit"} {
		a.dropped += where("procmon.events.dropped", "procmon.event.type", kind)
		a.filtered += where("procmon.events.filtered", "procmon.event.type", kind)
	}
	a.refused = where("procmon.records.refused", "procmon.signal", "logs")
	a.delivered, a.scanned = deliveredRecords(logs)
	return a, nil
}

// closes reports whether every exec and exit procmon handled is at the sink
// or counted, and every missing exit counted.
func (a account) closes() bool {
	counted := a.dropped + a.filtered + a.refused
	return a.handled <= a.delivered+a.scanned+counted && int64(a.missing) <= a.dropped+a.refused+a.lost
}

func (a account) String() string {
	return fmt.Sprintf("%d of %d exits missing; procmon handled %d execs and exits: %d delivered, %d dropped, %d filtered, %d refused; "+
		"%d scan records delivered; %d events lost; %d held batches taken later",
		a.missing, a.storm, a.handled, a.delivered, a.dropped, a.filtered, a.refused, a.scanned, a.lost, a.held)
}

// assertSignalAgnostic checks that procmon's log lines, out of the
// collector's output, name no pipeline signal: one receiver serves both.
func assertSignalAgnostic(t *testing.T, out string) {
	t.Helper()
	seen := 0
	for line := range strings.Lines(out) {
		if !strings.Contains(line, "procmonreceiver/") {
			continue
		}
		seen++
		if strings.Contains(line, `"otelcol.signal"`) {
			t.Errorf("a procmon log line names a signal: %s", line)
			return
		}
	}
	assert.Positive(t, seen, "no procmon log line in the collector's output")
}

// deliveredRecords counts the exec and exit records in logs: those of
// processes seen starting or ending, and those of the /proc scans.
func deliveredRecords(logs *consumertest.LogsSink) (events, scanned int64) {
	forEachRecord(logs, func(r plog.LogRecord) {
		if r.EventName() != eventExec && r.EventName() != eventExit {
			return
		}
		_, initial := r.Attributes().Get("procmon.initial_scan")
		_, rescan := r.Attributes().Get("procmon.rescan")
		if initial || rescan {
			scanned++
			return
		}
		events++
	})
	return events, scanned
}
