package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	r := startReporting(t, source, e2eConfig(t), extra)
	col, logs, metrics := r.collector, r.logs, r.metrics

	forks, err := loadgen.ForkStorm(backpressureForks, 2)
	require.NoError(t, err)
	t.Logf("%s: fork storm %.0f/s", source, forks.Rate())
	missing := func() int {
		_, _, noFork := missingRecords(logs, nil, forks.PIDs)
		return noFork
	}
	waitSettled(missing)
	// Shutdown sends what is batched, counts a batch still held as refused,
	// and the last export of the counters carries every count.
	stopCollector(t, col)
	m := missing()
	out := col.out.String()
	require.Contains(t, out, "Memory usage is above soft limit", "the storm did not drive the memory_limiter over its limit")

	total := func(name string) int64 {
		v, err := latestSum(metrics, name)
		require.NoError(t, err, name)
		return v
	}
	where := func(name, key, value string) int64 {
		v, _ := latestSumWhere(metrics, name, key, value)
		return v
	}
	handled := total("procmon.execs") + total("procmon.exits")
	dropped := where("procmon.events.dropped", "procmon.event.type", "exec") +
		where("procmon.events.dropped", "procmon.event.type", "exit")
	filtered := where("procmon.events.filtered", "procmon.event.type", "exec") +
		where("procmon.events.filtered", "procmon.event.type", "exit")
	refused := where("procmon.records.refused", "procmon.signal", "logs")
	lost := total("procmon.events.lost")
	delivered, scanned := deliveredRecords(logs)
	held := strings.Count(out, "took procmon's held log records")
	t.Logf("%s: %d of %d exits missing; procmon handled %d execs and exits: %d delivered, %d dropped, %d filtered, %d refused; "+
		"%d scan records delivered; %d events lost; %d held batches taken later",
		source, m, len(forks.PIDs), handled, delivered, dropped, filtered, refused, scanned, lost, held)
	assert.Positive(t, refused+int64(held), "no batch was refused or held")

	// Pid by pid: each missing exit is among what procmon counted.
	assert.LessOrEqual(t, int64(m), dropped+refused+lost, "exits missing beyond what procmon counted")
	if source == sourceEBPF {
		assert.Zero(t, lost, "procmon.events.lost")
		// Every exec and exit handled is accounted for, exactly. Records of
		// the /proc scans are not execs; the eBPF source scans only at start,
		// and those records were delivered before the storm.
		assert.Equal(t, handled, delivered+dropped+filtered+refused,
			"execs and exits handled = delivered + dropped + filtered + refused")
	} else {
		assert.LessOrEqual(t, handled, delivered+scanned+dropped+filtered+refused,
			"execs and exits handled beyond what was delivered or counted")
	}
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
