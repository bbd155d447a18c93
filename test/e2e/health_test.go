//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// healthStatus is the part of the health_check extension's /status?verbose
// answer the test reads: a tree of components, each with its status.
type healthStatus struct {
	Healthy    bool                     `json:"healthy"`
	Status     string                   `json:"status"`
	Components map[string]*healthStatus `json:"components"`
}

// find returns the status of the component called name anywhere below s.
func (s *healthStatus) find(name string) *healthStatus {
	for k, c := range s.Components {
		if k == name {
			return c
		}
		if got := c.find(name); got != nil {
			return got
		}
	}
	return nil
}

// TestHealthCheckSeesProcmon runs the collector with the health_check
// extension in its component-status mode: procmon's status is among the
// components it serves, and OK while its source runs.
func TestHealthCheckSeesProcmon(t *testing.T) {
	logs, _, endpoint := startSink(t)
	health := freeLoopbackAddr(t)
	extra := filepath.Join(t.TempDir(), "health.yaml")
	require.NoError(t, os.WriteFile(extra, fmt.Appendf(nil, `extensions:
  health_check:
    http:
      endpoint: %s
      status:
        enabled: true
        path: /status
    component_health:
      include_recoverable_errors: true
service:
  extensions: [health_check]
`, health), 0o644))
	// Two --config files merge into one configuration.
	cmd := exec.Command(collectorBinary(t), "--config", e2eConfig(t), "--config", extra,
		"--feature-gates=+extension.healthcheck.useComponentStatus")
	col := launch(t, cmd, endpoint, "")
	waitUntilReporting(t, col, logs, copyTrue(t))

	var procmon *healthStatus
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		resp, err := http.Get("http://" + health + "/status?verbose")
		if !assert.NoError(c, err) {
			return
		}
		defer resp.Body.Close()
		var st healthStatus
		if !assert.NoError(c, json.NewDecoder(resp.Body).Decode(&st)) {
			return
		}
		assert.Equal(c, http.StatusOK, resp.StatusCode)
		procmon = st.find("receiver:procmon")
		assert.NotNil(c, procmon, "no receiver:procmon among %v", st.Components)
	}, 20*time.Second, 200*time.Millisecond)
	require.True(t, procmon.Healthy)
	require.Equal(t, "StatusOK", procmon.Status)
	stopCollector(t, col)
}
