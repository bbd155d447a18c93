//go:build linux

package e2e

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/procmon-otel/procmon/internal/loadgen"
)

// gatewayBurst is how many processes run while the gateway is down.
const gatewayBurst = 300

// gatewayLoad is the fork storm whose exit records the gateway forwards to
// measure its cost.
const gatewayLoad = 20000

// TestGatewayHop runs an agent (testdata/e2e-collector.yaml) that sends to a
// gateway (deploy/kubernetes/gateway.yaml, on loopback) that sends to the
// test's sink. The gateway is stopped while a burst of processes runs and
// started again a few seconds later: the agent's sending queue holds the
// records, and each process's exec and exit arrive, or their loss is among
// what procmon counted. Then a fork storm through the hop measures the
// gateway's CPU per record forwarded.
func TestGatewayHop(t *testing.T) {
	bin := collectorBinary(t)
	logs, metrics, sink := startSink(t)
	gatewayAddr := freeLoopbackAddr(t)
	startGateway := func() *collector {
		cmd := exec.Command(bin, "--config", filepath.Join(repoRoot(t), "deploy", "kubernetes", "gateway.yaml"),
			"--config", "yaml:receivers::otlp::protocols::grpc::endpoint: "+gatewayAddr,
			"--config", "yaml:exporters::otlp_grpc::endpoint: "+sink)
		return launch(t, cmd, "", "")
	}
	gateway := startGateway()
	agent := launch(t, exec.Command(bin, "--config", e2eConfig(t)), gatewayAddr, "")
	probe := copyTrue(t)
	waitUntilReporting(t, agent, logs, probe)

	stopCollector(t, gateway)
	burst, err := loadgen.ExecStorm([]string{probe}, gatewayBurst, 2)
	require.NoError(t, err)
	time.Sleep(3 * time.Second)
	beforeRestart := logs.LogRecordCount()
	gateway = startGateway()

	missing := func() int {
		noExec, noExit, _ := missingRecords(logs, burst.PIDs, nil)
		return noExec + noExit
	}
	// The agent's exporter retries after about 5s, then longer: wait for
	// every record rather than for the count to stop moving.
	deadline := time.Now().Add(90 * time.Second)
	for missing() > 0 && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
	}
	m := missing()
	var lost, dropped, refused int64
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var ok bool
		lost, ok = latestTotal(metrics, "procmon.events.lost")
		assert.True(c, ok)
		dropped, ok = latestTotal(metrics, "procmon.events.dropped")
		assert.True(c, ok)
		refused, ok = latestTotal(metrics, "procmon.records.refused")
		assert.True(c, ok)
	}, 30*time.Second, 100*time.Millisecond)
	t.Logf("gateway down for a burst of %d processes: %d of %d records missing; procmon counted %d lost, %d dropped, %d refused",
		len(burst.PIDs), m, 2*len(burst.PIDs), lost, dropped, refused)
	assert.LessOrEqual(t, int64(m), lost+dropped+refused, "records missing beyond what procmon counted")
	if m > 0 {
		t.Logf("agent output:\n%s", agent.out.String())
	}

	// The gateway's cost: its CPU time over the records it forwarded.
	before := logs.LogRecordCount()
	forks, err := loadgen.ForkStorm(gatewayLoad, 2)
	require.NoError(t, err)
	waitSettled(func() int { return before + len(forks.PIDs) - logs.LogRecordCount() })
	forwarded := logs.LogRecordCount() - beforeRestart
	stopCollector(t, gateway)
	cpu := gateway.cmd.ProcessState.UserTime() + gateway.cmd.ProcessState.SystemTime()
	t.Logf("gateway: %d log records forwarded in %.2f CPU-seconds since its restart: %.0f records per CPU-second (fork storm %.0f/s)",
		forwarded, cpu.Seconds(), float64(forwarded)/cpu.Seconds(), forks.Rate())
	stopCollector(t, agent)
}
