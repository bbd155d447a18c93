// Command procbench measures the built collector, otelcol-procmon, end to
// end, with each event source: an exec storm, a fork storm, a steady exec
// rate and idle, each checked by pid against what reaches an OTLP sink and
// against procmon's own counters, and the same exec storm observed by
// forkstat for comparison. With the eBPF source it also reports the BPF
// programs' own run time, which the kernel charges to the processes that
// exec and exit, not to the collector. It needs root. `make bench` runs it.
//
//	procbench -otelcol _build/otelcol-procmon -json _build/bench.json [-quick] [-sources ebpf,netlink]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// options are the command's flags.
type options struct {
	otelcol, forkstat, jsonPath, logPath string
	quick                                bool
	execN, forkN, workers, pairs         int
	rate                                 float64
	steady, idle, drainTimeout           time.Duration
	batchTimeout                         time.Duration // 0: no batch processor
	// set are extra procmon receiver settings, as YAML "key: value".
	set []string
	// sources are the event sources to measure, in order.
	sources []string
}

func main() {
	var opt options
	flag.StringVar(&opt.otelcol, "otelcol", "_build/otelcol-procmon", "the collector binary")
	flag.StringVar(&opt.forkstat, "forkstat", "forkstat", `forkstat to compare with; "" skips the comparison`)
	flag.StringVar(&opt.jsonPath, "json", "_build/bench.json", "where to write the results as JSON")
	flag.StringVar(&opt.logPath, "log", "_build/bench-collector.log", "where to write the collector's output")
	flag.BoolVar(&opt.quick, "quick", false, "scale the storms, the steady run and idle down 10x")
	flag.IntVar(&opt.execN, "exec", 20000, "processes in the exec storm")
	flag.IntVar(&opt.forkN, "fork", 200000, "processes in the fork storm")
	flag.IntVar(&opt.workers, "workers", 2, "goroutines starting processes in the storms and the steady run")
	flag.IntVar(&opt.pairs, "pairs", 2, "procmon and forkstat exec storms, alternately, for the comparison")
	flag.Float64Var(&opt.rate, "rate", 500, "execs per second in the steady run")
	flag.DurationVar(&opt.steady, "steady", 30*time.Second, "length of the steady run")
	flag.DurationVar(&opt.idle, "idle", 30*time.Second, "length of the idle run")
	flag.DurationVar(&opt.batchTimeout, "batch-timeout", 0, "add a batch processor with this timeout to the collector's pipelines; 0: none")
	flag.DurationVar(&opt.drainTimeout, "drain-timeout", 2*time.Minute, "longest wait for a scenario's records after its load")
	flag.Func("sources", "the event sources to measure, comma-separated (default ebpf,netlink)", func(v string) error {
		opt.sources = nil
		for _, s := range strings.Split(v, ",") {
			if s != sourceEBPF && s != sourceNetlink {
				return fmt.Errorf("unknown source %q; use ebpf or netlink", s)
			}
			opt.sources = append(opt.sources, s)
		}
		return nil
	})
	flag.Func("set", "an extra procmon receiver setting, key=value (repeatable), e.g. -set flush_interval=20ms", func(kv string) error {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return errors.New("want key=value")
		}
		opt.set = append(opt.set, k+": "+v)
		return nil
	})
	flag.Parse()
	if len(opt.sources) == 0 {
		opt.sources = []string{sourceEBPF, sourceNetlink}
	}
	if opt.quick {
		scaleDown(&opt)
	}
	if err := run(opt); err != nil {
		fmt.Fprintln(os.Stderr, "procbench:", err)
		os.Exit(1)
	}
}

// scaleDown divides by 10 the sizes not set explicitly.
func scaleDown(opt *options) {
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["exec"] {
		opt.execN /= 10
	}
	if !set["fork"] {
		opt.forkN /= 10
	}
	if !set["steady"] {
		opt.steady /= 10
	}
	if !set["idle"] {
		opt.idle /= 10
	}
}

// The event sources procbench measures, as the configuration names them.
const (
	sourceEBPF    = "ebpf"
	sourceNetlink = "netlink"
)

// bench is one run of every scenario.
type bench struct {
	opt     options
	sink    *sink
	col     *collector
	source  string // of the running collector
	probe   string
	configs map[string]string // collector configuration files by source
	// idleConfigs are the idle run's, with the default collection_interval.
	idleConfigs map[string]string
	bpf         *bpfStats
}

func run(opt options) error {
	if os.Geteuid() != 0 {
		return errors.New("must run as root: the collector's proc connector socket, its realtime reader and forkstat need it")
	}
	if opt.execN <= 0 || opt.forkN <= 0 || opt.workers <= 0 || opt.pairs <= 0 || opt.rate <= 0 {
		return errors.New("-exec, -fork, -workers, -pairs and -rate must be positive")
	}
	if _, err := os.Stat(opt.otelcol); err != nil {
		return fmt.Errorf("-otelcol: %w (build it with make otelcol)", err)
	}
	if opt.forkstat != "" {
		path, err := exec.LookPath(opt.forkstat)
		if err != nil {
			return fmt.Errorf("-forkstat: %w (apt-get install forkstat, or -forkstat '' to skip)", err)
		}
		opt.forkstat = path
	}
	for _, p := range []string{opt.jsonPath, opt.logPath} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
	}
	// A fresh log per run; the collector appends to it at each start.
	if err := os.WriteFile(opt.logPath, nil, 0o644); err != nil {
		return err
	}

	rep := newReport(opt)
	if m := rep.Machine; m.BusyPercent > 5 || m.NewPIDsPerSec > 20 {
		fmt.Fprintf(os.Stderr, "procbench: warning: the host is busy (%.1f%% CPU, %.0f new pids/s): results will be skewed\n", m.BusyPercent, m.NewPIDsPerSec)
	}
	dir, err := os.MkdirTemp("", "procbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &bench{opt: opt}
	if b.probe, err = copyTrue(dir); err != nil {
		return err
	}
	if b.sink, err = startSink(); err != nil {
		return err
	}
	defer b.sink.close()
	b.configs, b.idleConfigs = map[string]string{}, map[string]string{}
	for _, source := range opt.sources {
		path, err := writeConfig(dir, source, renderConfig(b.sink.endpoint, source, false, opt.batchTimeout, opt.set))
		if err != nil {
			return err
		}
		b.configs[source] = path
		if path, err = writeConfig(dir, source+"-idle", renderConfig(b.sink.endpoint, source, true, opt.batchTimeout, opt.set)); err != nil {
			return err
		}
		b.idleConfigs[source] = path
	}
	rep.Settings.CollectorConfig = renderConfig("127.0.0.1:<sink>", "<source>", false, opt.batchTimeout, opt.set)
	if slices.Contains(opt.sources, sourceEBPF) {
		if b.bpf, err = enableBPFStats(); err != nil {
			return err
		}
		defer b.bpf.restore()
	}

	err = b.scenarios(rep)
	if b.col != nil {
		err = errors.Join(err, b.stopCollector())
	}
	if err != nil {
		return fmt.Errorf("%w (collector log: %s)", err, opt.logPath)
	}
	rep.evaluate()
	rep.print(os.Stdout)
	return rep.write(opt.jsonPath)
}

// scenarios runs, for each source, idle on a collector with the default
// collection_interval, then the exec storm, the fork storm and the steady
// rate on one with metrics every second; then the sources' exec storms and
// forkstat's alternately.
func (b *bench) scenarios(rep *report) error {
	all := []kind{kindFork, kindExec, kindExit}
	for _, source := range b.opt.sources {
		// Idle first, so that idle RSS is the collector's baseline.
		if err := b.startCollectorWith(source, b.idleConfigs[source]); err != nil {
			return err
		}
		if err := b.runStep(rep, func() (result, error) { return b.runProcmon("idle", nil, idle(b.opt.idle)) }); err != nil {
			return err
		}
		if err := b.stopCollector(); err != nil {
			return err
		}
		if err := b.startCollector(source); err != nil {
			return err
		}
		steps := []struct {
			name  string
			kinds []kind
			run   load
		}{
			{"exec storm #1", all, execStorm(b.probe, b.opt.execN, b.opt.workers)},
			{"fork storm", []kind{kindFork, kindExit}, forkStorm(b.opt.forkN, b.opt.workers)},
			{fmt.Sprintf("steady %g/s", b.opt.rate), all, paced([]string{b.probe}, b.opt.rate, b.opt.steady, b.opt.workers)},
		}
		for _, s := range steps {
			if err := b.runStep(rep, func() (result, error) { return b.runProcmon(s.name, s.kinds, s.run) }); err != nil {
				return err
			}
		}
		if err := b.stopCollector(); err != nil {
			return err
		}
	}
	if b.opt.forkstat == "" {
		return nil
	}
	for pair := 1; pair <= b.opt.pairs; pair++ {
		name := fmt.Sprintf("exec storm #%d", pair)
		for _, source := range b.opt.sources {
			if pair == 1 {
				break // run above
			}
			if err := b.startCollector(source); err != nil {
				return err
			}
			if err := b.runStep(rep, func() (result, error) {
				return b.runProcmon(name, all, execStorm(b.probe, b.opt.execN, b.opt.workers))
			}); err != nil {
				return err
			}
			if err := b.stopCollector(); err != nil {
				return err
			}
		}
		if err := b.runStep(rep, func() (result, error) { return b.runForkstat(name, b.opt.execN) }); err != nil {
			return err
		}
	}
	return nil
}

// runStep runs one scenario, says so, and keeps its result.
func (b *bench) runStep(rep *report, step func() (result, error)) error {
	r, err := step()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "procbench: %-16s %-8s %s\n", r.Name, r.Observer, r.brief())
	if r.OtherForks > max(100, int64(r.Processes)/100) {
		fmt.Fprintf(os.Stderr, "procbench: warning: %d forks of other processes during %s: the host is not quiet\n", r.OtherForks, r.Name)
	}
	rep.Scenarios = append(rep.Scenarios, r)
	return nil
}

// startCollector starts a collector with source and waits until it
// reports, then a moment more for its start-up work (the initial scan) to
// settle.
func (b *bench) startCollector(source string) error {
	return b.startCollectorWith(source, b.configs[source])
}

// startCollectorWith is startCollector with the configuration at config.
func (b *bench) startCollectorWith(source, config string) error {
	if holders, err := connectorHolders(); err == nil && len(holders) > 0 {
		fmt.Fprintf(os.Stderr, "procbench: warning: other proc connector listeners run and compete for the events: %v\n", holders)
	}
	col, err := startCollector(b.opt.otelcol, config, b.opt.logPath)
	if err != nil {
		return err
	}
	b.col, b.source = col, source
	if err := waitReporting(col, b.sink, b.probe); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	return nil
}

// stopCollector stops the running collector.
func (b *bench) stopCollector() error {
	col := b.col
	b.col = nil
	return col.stop()
}

// copyTrue copies /bin/true into dir under a short name, so that the
// processes of the storms are easy to tell apart.
func copyTrue(dir string) (string, error) {
	data, err := os.ReadFile("/bin/true")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "pmtrue")
	// Written and closed before any run, or exec fails with ETXTBSY.
	return path, os.WriteFile(path, data, 0o755)
}
