package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/procmon-otel/procmon/internal/loadgen"
)

// result is one scenario's measurements.
type result struct {
	Name     string `json:"name"`
	Observer string `json:"observer"`
	// Processes started, and at what rate, over LoadSeconds.
	Processes   int     `json:"processes"`
	LoadSeconds float64 `json:"load_seconds"`
	Rate        float64 `json:"rate_per_s"`
	// Generated and Delivered are by event type: fork, exec, exit.
	Generated map[string]int64 `json:"generated,omitempty"`
	Delivered map[string]int64 `json:"delivered,omitempty"`
	Account   *account         `json:"account,omitempty"`
	Holds     *bool            `json:"account_holds,omitempty"`
	// Scanned counts records of the scenario's processes found by a /proc
	// rescan after an overrun; they are not counted as delivered.
	Scanned int64 `json:"rescanned_records,omitempty"`
	// OtherEvents estimates the kernel fork, exec and exit events of
	// processes outside the scenario (the host's, threads included): procmon
	// sees the whole host, and its counters are the host's.
	OtherEvents int64 `json:"other_host_events,omitempty"`
	// OtherForks are the forks on the host during the scenario, threads
	// included, besides its own processes: the kernel's view, whatever the
	// observer.
	OtherForks int64 `json:"other_host_forks"`
	// Counters are the deltas of procmon's other counters over the scenario.
	Counters map[string]int64 `json:"procmon_counter_deltas,omitempty"`
	// CPUSeconds is the observer's utime+stime from the start of the load to
	// the last record's arrival (procmon) or to when its CPU time stopped
	// growing (forkstat).
	CPUSeconds float64 `json:"cpu_seconds"`
	SysSeconds float64 `json:"cpu_system_seconds"`
	CPUPer1k   float64 `json:"cpu_seconds_per_1000_processes,omitempty"`
	CPUPercent float64 `json:"cpu_percent_of_one_core"`
	// BPFSeconds is the run time of procmon's BPF programs over the
	// scenario (eBPF source only), charged by the kernel to the processes
	// that exec and exit, not to the observer; BPFRuns how often they ran.
	BPFSeconds   float64  `json:"bpf_seconds,omitempty"`
	BPFRuns      uint64   `json:"bpf_runs,omitempty"`
	BPFPer1k     float64  `json:"bpf_seconds_per_1000_processes,omitempty"`
	RSSMaxMiB    float64  `json:"rss_max_mib"`
	RSSEndMiB    float64  `json:"rss_end_mib"`
	HWMMiB       float64  `json:"vmhwm_mib"`
	Latency      *latency `json:"latency,omitempty"`
	DrainSeconds float64  `json:"drain_seconds"`
}

// load starts a scenario's processes; idle starts none.
type load func() (loadgen.Result, error)

const (
	// settle is how long without a new record ends the wait for a
	// scenario's records (the drain timeout bounds it in all).
	settle = 3 * time.Second
	// tsSlack widens the scenario's window for record timestamps, which are
	// the kernel's clock converted to wall time.
	tsSlack = 500 * time.Millisecond
	// snapWait bounds the wait for a counter snapshot: one a second, or one
	// every 10s (the default collection_interval) in the idle run.
	snapWait = 15 * time.Second
)

// runProcmon runs one scenario against the running collector and matches
// what reached the sink with what was started.
func (b *bench) runProcmon(name string, kinds []kind, run load) (result, error) {
	b.sink.reset()
	pre, err := b.sink.snapshotAfter(time.Now(), snapWait)
	if err != nil {
		return result{}, fmt.Errorf("%s: %w", name, err)
	}
	smp, err := startSampler(b.col.pid())
	if err != nil {
		return result{}, fmt.Errorf("%s: reading the collector: %w", name, err)
	}
	bpf0 := b.bpfTime()
	forks := hostForks()
	from := time.Now()
	res, err := run()
	to := time.Now()
	if err != nil {
		smp.stop()
		return result{}, fmt.Errorf("%s: %w", name, err)
	}

	m := newMatcher(res.PIDs, kinds, int32(os.Getpid()), from.Add(-tsSlack).UnixNano(), to.Add(tsSlack).UnixNano())
	next := 0
	var delivered int64
	progress := time.Now()
	for {
		m.add(b.sink.since(&next))
		if m.complete() {
			break
		}
		now := time.Now()
		if d := total(m.delivered); d != delivered {
			delivered, progress = d, now
		}
		if now.Sub(progress) > settle || now.Sub(to) > b.opt.drainTimeout {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Counters read after the last record are final: procmon counts an event
	// when it reads it, before the record is made.
	post, err := b.sink.snapshotAfter(time.Now(), snapWait)
	if err != nil {
		smp.stop()
		return result{}, fmt.Errorf("%s: %w", name, err)
	}
	m.add(b.sink.since(&next)) // late duplicates
	bpf1 := b.bpfTime()
	otherForks := int64(hostForks()-forks) - int64(len(res.PIDs))
	samples, err := smp.stop()
	if err != nil {
		return result{}, fmt.Errorf("%s: the collector died: %w", name, err)
	}

	// The scenario's work ends with its last record, or with its load if that came later.
	end := to
	if last := time.Unix(0, m.lastRecv); last.After(end) {
		end = last
	}
	u := usageUntil(samples, end)
	r := result{
		Name: name, Observer: "procmon/" + b.source, Processes: len(res.PIDs),
		LoadSeconds: to.Sub(from).Seconds(),
		CPUSeconds:  u.cpu, SysSeconds: u.sys, RSSMaxMiB: u.rssMax, RSSEndMiB: u.rss, HWMMiB: u.hwm,
		CPUPercent:   100 * u.cpu / max(u.elapsed.Seconds(), 1e-9),
		DrainSeconds: max(end.Sub(to).Seconds(), 0),
		Counters:     counterDeltas(pre, post),
		OtherForks:   otherForks,
		BPFSeconds:   (bpf1.runtime - bpf0.runtime).Seconds(),
		BPFRuns:      bpf1.runs - bpf0.runs,
	}
	seen := r.Counters["procmon.events.lost"]
	for k := kindFork; k < numKinds; k++ {
		seen += r.Counters[typed("procmon.events", k)]
	}
	r.OtherEvents = seen - int64(len(res.PIDs)*len(kinds))
	if len(res.PIDs) == 0 {
		return r, nil
	}
	r.Rate = float64(len(res.PIDs)) / r.LoadSeconds
	r.CPUPer1k = u.cpu / (float64(len(res.PIDs)) / 1000)
	r.BPFPer1k = r.BPFSeconds / (float64(len(res.PIDs)) / 1000)
	r.Generated, r.Delivered = byType(m.generated, kinds), byType(m.delivered, kinds)
	a := account{
		Generated: total(m.generated), Delivered: total(m.delivered), Duplicates: total(m.duplicates),
		Lost: post.get("procmon.events.lost") - pre.get("procmon.events.lost"),
	}
	for _, k := range kinds {
		a.Dropped += post.get(typed("procmon.events.dropped", k)) - pre.get(typed("procmon.events.dropped", k))
		a.Filtered += post.get(typed("procmon.events.filtered", k)) - pre.get(typed("procmon.events.filtered", k))
	}
	holds := a.Holds()
	r.Account, r.Holds, r.Scanned = &a, &holds, m.scanned
	l := m.latency()
	r.Latency = &l
	return r, nil
}

// diagnosticCounters are the counters whose deltas say where events went.
var diagnosticCounters = []string{
	"procmon.events.lost", "procmon.source.overruns", "procmon.source.restarts",
	"procmon.messages.malformed", "procmon.processes.evicted", "procmon.callbacks.executed",
	"procmon.events{fork}", "procmon.events{exec}", "procmon.events{exit}",
	"procmon.events.dropped{fork}", "procmon.events.dropped{exec}", "procmon.events.dropped{exit}",
	"procmon.events.filtered{fork}", "procmon.events.filtered{exec}", "procmon.events.filtered{exit}",
	"procmon.enrichment.misses{exe}",
}

// counterDeltas returns how much each diagnostic counter grew from pre to post.
func counterDeltas(pre, post snapshot) map[string]int64 {
	d := make(map[string]int64, len(diagnosticCounters))
	for _, k := range diagnosticCounters {
		d[k] = post.get(k) - pre.get(k)
	}
	return d
}

// byType names per-kind counts by event type.
func byType(c [numKinds]int64, kinds []kind) map[string]int64 {
	out := make(map[string]int64, len(kinds))
	for _, k := range kinds {
		out[metricType[k]] = c[k]
	}
	return out
}

// runForkstat runs an exec storm of n processes with forkstat listening
// instead of the collector, and measures forkstat.
func (b *bench) runForkstat(name string, n int) (result, error) {
	cmd := exec.Command(b.opt.forkstat, "-e", "exec,exit", "-q")
	// nil Stdout and Stderr go to /dev/null.
	if err := cmd.Start(); err != nil {
		return result{}, fmt.Errorf("%s: starting forkstat: %w", name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	defer stopForkstat(cmd, exited)
	if err := waitSubscribed(cmd.Process.Pid, exited); err != nil {
		return result{}, fmt.Errorf("%s: %w", name, err)
	}

	smp, err := startSampler(cmd.Process.Pid)
	if err != nil {
		return result{}, fmt.Errorf("%s: reading forkstat: %w", name, err)
	}
	forks := hostForks()
	from := time.Now()
	res, err := loadgen.ExecStorm([]string{b.probe}, n, b.opt.workers)
	to := time.Now()
	if err != nil {
		smp.stop()
		return result{}, fmt.Errorf("%s: %w", name, err)
	}
	// forkstat reports nothing we can match, so it has drained its socket
	// when its CPU time stops growing.
	last, changed := smp.latest(), time.Now()
	for time.Since(changed) < time.Second && time.Since(to) < b.opt.drainTimeout {
		time.Sleep(samplePeriod)
		if s := smp.latest(); s.cpu != last.cpu {
			last, changed = s, time.Now()
		}
	}
	otherForks := int64(hostForks()-forks) - int64(len(res.PIDs))
	samples, err := smp.stop()
	if err != nil {
		return result{}, fmt.Errorf("%s: forkstat died: %w", name, err)
	}
	u := usageUntil(samples, last.at)
	return result{
		Name: name, Observer: "forkstat", Processes: len(res.PIDs),
		LoadSeconds: to.Sub(from).Seconds(), Rate: float64(len(res.PIDs)) / to.Sub(from).Seconds(),
		CPUSeconds: u.cpu, SysSeconds: u.sys, CPUPer1k: u.cpu / (float64(len(res.PIDs)) / 1000),
		CPUPercent: 100 * u.cpu / max(u.elapsed.Seconds(), 1e-9),
		RSSMaxMiB:  u.rssMax, RSSEndMiB: u.rss, HWMMiB: u.hwm,
		DrainSeconds: max(last.at.Sub(to).Seconds(), 0),
		OtherForks:   otherForks,
	}, nil
}

// waitSubscribed waits until forkstat holds a proc connector socket, then a
// little longer for its subscription to be sent.
func waitSubscribed(pid int, exited <-chan struct{}) error {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("forkstat exited at start-up")
		default:
		}
		if inodes, err := connectorInodes(); err == nil && holdsConnector(pid, inodes) {
			time.Sleep(500 * time.Millisecond)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("forkstat opened no proc connector socket within 5s")
}

// stopForkstat interrupts forkstat, as a user would, and kills it after 5s.
func stopForkstat(cmd *exec.Cmd, exited <-chan struct{}) {
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// execStorm runs probe n times from workers goroutines.
func execStorm(probe string, n, workers int) load {
	return func() (loadgen.Result, error) { return loadgen.ExecStorm([]string{probe}, n, workers) }
}

// forkStorm forks n children that exit at once, from workers goroutines.
func forkStorm(n, workers int) load {
	return func() (loadgen.Result, error) { return loadgen.ForkStorm(n, workers) }
}

// idle starts nothing for d.
func idle(d time.Duration) load {
	return func() (loadgen.Result, error) {
		time.Sleep(d)
		return loadgen.Result{Elapsed: d}, nil
	}
}

// paced runs argv rate times a second for d from workers goroutines, each
// start at its own slot on a fixed schedule, so a slow start is not made up
// by a burst.
func paced(argv []string, rate float64, d time.Duration, workers int) load {
	return func() (loadgen.Result, error) {
		n := int(rate * d.Seconds())
		return loadgen.PacedExec(argv, n, workers, time.Duration(float64(time.Second)/rate))
	}
}
