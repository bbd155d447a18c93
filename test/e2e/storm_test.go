//go:build linux

package e2e

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/procmon-otel/procmon/internal/loadgen"
)

// Storm sizes for make test; make bench runs ten times more.
const (
	execStorm = 1000
	forkStorm = 20000
)

// TestStormAccount runs an exec storm and a fork storm from the test and
// checks, pid by pid, that each process got its records or that its loss
// is counted: the eBPF source must lose nothing; the netlink source may
// lose what the kernel dropped, never more than procmon counted.
func TestStormAccount(t *testing.T) { forEachSource(t, testStormAccount) }

func testStormAccount(t *testing.T, source string) {
	r := startReporting(t, source)
	col, logs, metrics, probe := r.collector, r.logs, r.metrics, r.probe

	execs, err := loadgen.ExecStorm([]string{probe}, execStorm, 2)
	require.NoError(t, err)
	forks, err := loadgen.ForkStorm(forkStorm, 2)
	require.NoError(t, err)
	t.Logf("%s: exec storm %.0f/s, fork storm %.0f/s", source, execs.Rate(), forks.Rate())

	missing := func() int {
		noExec, noExit, noFork := missingRecords(logs, execs.PIDs, forks.PIDs)
		return noExec + noExit + noFork
	}
	// Wait until every record arrived or, for netlink, until what is missing
	// is covered by what procmon counted: a quiet spell is not enough, as a
	// batch may still be on its way.
	counted := func() int64 {
		lost, _ := latestTotal(metrics, "procmon.events.lost")
		dropped, _ := latestTotal(metrics, "procmon.events.dropped")
		return lost + dropped
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if m := missing(); m == 0 || (source != sourceEBPF && int64(m) <= counted()) {
			break
		}
	}
	m := missing()
	if m > 0 {
		noExec, noExit, noFork := missingRecords(logs, execs.PIDs, forks.PIDs)
		t.Logf("missing: %d execs and %d exits of the exec storm, %d exits of the fork storm", noExec, noExit, noFork)
	}
	var lost, dropped int64
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var ok bool
		lost, ok = latestTotal(metrics, "procmon.events.lost")
		assert.True(c, ok, "no procmon.events.lost yet")
		dropped, ok = latestTotal(metrics, "procmon.events.dropped")
		assert.True(c, ok, "no procmon.events.dropped yet")
	}, 10*time.Second, 100*time.Millisecond)
	t.Logf("%s: %d of %d records missing; procmon counted %d events lost, %d dropped",
		source, m, 2*len(execs.PIDs)+len(forks.PIDs), lost, dropped)
	if source == sourceEBPF {
		assert.Zero(t, m, "records missing")
		assert.Zero(t, lost, "procmon.events.lost")
		assert.Zero(t, dropped, "procmon.events.dropped")
	} else {
		assert.LessOrEqual(t, int64(m), lost+dropped, "records missing beyond what procmon counted lost or dropped")
	}
	stopCollector(t, col)
}

// missingRecords counts the records of the test's children that have not
// arrived in logs: the exec and the exit of each of execPIDs, the exit of
// each of forkPIDs. Records naming another parent are not theirs (a busy
// host may reuse a pid).
func missingRecords(logs *consumertest.LogsSink, execPIDs, forkPIDs []int32) (noExec, noExit, noFork int) {
	byPID := childRecords(logs, int64(os.Getpid()))
	for _, pid := range execPIDs {
		got := byPID[int64(pid)]
		if got == nil || len(got.execs) == 0 {
			noExec++
		}
		if got == nil || len(got.exits) == 0 {
			noExit++
		}
	}
	for _, pid := range forkPIDs {
		if got := byPID[int64(pid)]; got == nil || len(got.exits) == 0 {
			noFork++
		}
	}
	return noExec, noExit, noFork
}

// waitSettled waits until missing, a count of records yet to arrive, is
// zero or has not moved for 3s (at most a minute), and returns it.
func waitSettled(missing func() int) int {
	last, still := -1, 0
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		m := missing()
		if m == 0 {
			return 0
		}
		if still++; m != last {
			last, still = m, 0
		}
		if still >= 12 {
			break
		}
	}
	return missing()
}

// latestTotal returns the sum over its data points of the newest export of
// the cumulative sum called name.
func latestTotal(metrics *consumertest.MetricsSink, name string) (int64, bool) {
	all := metrics.AllMetrics()
	for i := len(all) - 1; i >= 0; i-- {
		for _, rm := range all[i].ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Name() != name || checkCumulativeSum(m) != nil {
						continue
					}
					var total int64
					for _, dp := range m.Sum().DataPoints().All() {
						total += pointValue(dp)
					}
					return total, true
				}
			}
		}
	}
	return 0, false
}
