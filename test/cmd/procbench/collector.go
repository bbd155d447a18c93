package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// collectorConfig is the collector's configuration: procmon's defaults with
// fork records and, but for the idle run, metrics every second (so that a
// scenario's counts arrive soon after it), exported to the sink. procmon
// batches its records itself, so by default no batch processor sits between
// it and the exporter. The exporter's queue holds a whole fork storm and
// blocks rather than drop when full, so that any loss shows in procmon's own
// counters.
const collectorConfig = `receivers:
  procmon:
    source: %s
%s    events: [exec, exit, fork]
%s%s
exporters:
  otlp_grpc:
    endpoint: %s
    tls:
      insecure: true
    sending_queue:
      sizer: items
      queue_size: 2000000
      block_on_overflow: true

service:
  telemetry:
    logs:
      level: info
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [procmon]%s
      exporters: [otlp_grpc]
    metrics:
      receivers: [procmon]%s
      exporters: [otlp_grpc]
`

// renderConfig returns the collector's configuration for endpoint and
// source, with extra "key: value" settings of the procmon receiver, and a
// batch processor with that timeout in both pipelines when batchTimeout is
// positive. idle keeps the default collection_interval.
func renderConfig(endpoint, source string, idle bool, batchTimeout time.Duration, extra []string) string {
	interval := "    collection_interval: 1s\n"
	if idle {
		interval = ""
	}
	var lines strings.Builder
	for _, kv := range extra {
		lines.WriteString("    " + kv + "\n")
	}
	processors, use := "", ""
	if batchTimeout > 0 {
		processors = fmt.Sprintf("processors:\n  batch:\n    timeout: %s\n", batchTimeout)
		use = "\n      processors: [batch]"
	}
	return fmt.Sprintf(collectorConfig, source, interval, lines.String(), processors, endpoint, use, use)
}

// writeConfig writes a collector's configuration, called name, into dir.
func writeConfig(dir, name, config string) (string, error) {
	path := filepath.Join(dir, "collector-"+name+".yaml")
	return path, os.WriteFile(path, []byte(config), 0o644)
}

// collector is a running otelcol-procmon.
type collector struct {
	cmd    *exec.Cmd
	log    *os.File
	exited chan struct{}
}

// startCollector runs binary with config, its output appended to logPath.
func startCollector(binary, config, logPath string) (*collector, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	c := &collector{cmd: exec.Command(binary, "--config", config), log: log, exited: make(chan struct{})}
	c.cmd.Stdout, c.cmd.Stderr = log, log
	if err := c.cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	go func() {
		// The status is read back through ProcessState.
		_ = c.cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// pid is the collector's process id.
func (c *collector) pid() int { return c.cmd.Process.Pid }

// alive reports whether the collector still runs.
func (c *collector) alive() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and waits up to 10s for the exit, then kills it.
func (c *collector) stop() error {
	defer c.log.Close()
	if !c.alive() {
		return fmt.Errorf("collector exited early: %s", c.cmd.ProcessState)
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
		return errors.New("collector did not exit within 10s of SIGTERM; killed")
	}
	if code := c.cmd.ProcessState.ExitCode(); code != 0 {
		return fmt.Errorf("collector exited with %s after SIGTERM", c.cmd.ProcessState)
	}
	return nil
}

// waitReporting runs probe until an exec record of it reaches the sink and a
// counter snapshot follows, which proves both pipelines work end to end.
func waitReporting(c *collector, s *sink, probe string) error {
	deadline := time.Now().Add(30 * time.Second)
	next := 0
	for time.Now().Before(deadline) {
		if !c.alive() {
			return fmt.Errorf("collector exited at start-up: %s (see its log)", c.cmd.ProcessState)
		}
		cmd := exec.Command(probe)
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("running the probe %s: %w", probe, err)
		}
		pid := int32(cmd.ProcessState.Pid())
		for range 10 {
			time.Sleep(100 * time.Millisecond)
			for _, r := range s.since(&next) {
				if r.pid == pid && r.kind == kindExec && !r.scan {
					_, err := s.snapshotAfter(time.Now(), snapWait)
					return err
				}
			}
		}
	}
	return errors.New("no exec record of the probe reached the sink within 30s (see the collector's log)")
}
