package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// report is everything one run measured, as printed and as written to JSON.
type report struct {
	Date      string   `json:"date"`
	Command   []string `json:"command"`
	Quick     bool     `json:"quick"`
	Machine   machine  `json:"machine"`
	Settings  settings `json:"settings"`
	Scenarios []result `json:"scenarios"`
	// Comparisons set each source's exec storms against forkstat's.
	Comparisons []comparison `json:"forkstat_comparisons,omitempty"`
	// IdleRSSMiB is the collector's RSS at the end of idle, by source.
	IdleRSSMiB map[string]float64 `json:"idle_rss_mib"`
	Targets    []target           `json:"targets"`
}

// machine describes the host.
type machine struct {
	CPUs        int     `json:"nproc"`
	CPUModel    string  `json:"cpu_model"`
	MemTotalMiB float64 `json:"mem_total_mib"`
	Kernel      string  `json:"kernel"`
	LoadAvg     string  `json:"loadavg_at_start"`
	// BusyPercent and NewPIDsPerSec are the host's CPU use (of all CPUs)
	// and process creation over two seconds before the run: a busy host
	// skews every number.
	BusyPercent   float64 `json:"host_busy_percent_at_start"`
	NewPIDsPerSec float64 `json:"host_new_pids_per_s_at_start"`
}

// settings are the sizes the run used.
type settings struct {
	Sources         []string `json:"sources"`
	ExecStorm       int      `json:"exec_storm_processes"`
	ForkStorm       int      `json:"fork_storm_processes"`
	Workers         int      `json:"workers"`
	SteadyRate      float64  `json:"steady_rate_per_s"`
	SteadySeconds   float64  `json:"steady_seconds"`
	IdleSeconds     float64  `json:"idle_seconds"`
	CollectorConfig string   `json:"collector_config"`
}

// comparison sets one source's exec storms against forkstat's.
type comparison struct {
	Source           string    `json:"source"`
	ProcmonCPUPer1k  []float64 `json:"procmon_cpu_seconds_per_1000"`
	ForkstatCPUPer1k []float64 `json:"forkstat_cpu_seconds_per_1000"`
	ProcmonMean      float64   `json:"procmon_mean"`
	ForkstatMean     float64   `json:"forkstat_mean"`
	// Ratio is procmon's mean over forkstat's.
	Ratio float64 `json:"ratio"`
	// BPFPer1k is the BPF programs' own run time per 1,000 (eBPF only).
	BPFPer1k float64 `json:"bpf_seconds_per_1000,omitempty"`
}

// target is one goal and whether the run met it.
type target struct {
	Name string `json:"name"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

func newReport(opt options) *report {
	return &report{
		Date:    time.Now().UTC().Format(time.RFC3339),
		Command: os.Args,
		Quick:   opt.quick,
		Machine: readMachine(),
		Settings: settings{
			Sources: opt.sources, ExecStorm: opt.execN, ForkStorm: opt.forkN, Workers: opt.workers,
			SteadyRate: opt.rate, SteadySeconds: opt.steady.Seconds(), IdleSeconds: opt.idle.Seconds(),
		},
	}
}

// readMachine reads what /proc says of the host; what it cannot read stays empty.
func readMachine() machine {
	m := machine{CPUs: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	m.CPUModel = field("/proc/cpuinfo", "model name")
	if kb, err := strconv.ParseFloat(strings.TrimSuffix(field("/proc/meminfo", "MemTotal"), " kB"), 64); err == nil {
		m.MemTotalMiB = kb / 1024
	}
	m.BusyPercent, m.NewPIDsPerSec = hostActivity(2 * time.Second)
	return m
}

// hostActivity measures the host's CPU use and new pids per second over d;
// zeros when /proc cannot say.
func hostActivity(d time.Duration) (busyPercent, pidsPerSec float64) {
	read := func() (busy, all uint64, pid int, err error) {
		stat, err := os.ReadFile("/proc/stat")
		if err != nil {
			return 0, 0, 0, err
		}
		if busy, all, err = parseHostCPU(stat); err != nil {
			return 0, 0, 0, err
		}
		// The fifth field of /proc/loadavg is the last pid handed out.
		load, err := os.ReadFile("/proc/loadavg")
		if err != nil {
			return 0, 0, 0, err
		}
		f := strings.Fields(string(load))
		if len(f) < 5 {
			return 0, 0, 0, errors.New("/proc/loadavg: too few fields")
		}
		pid, err = strconv.Atoi(f[4])
		return busy, all, pid, err
	}
	b0, a0, p0, err := read()
	if err != nil {
		return 0, 0
	}
	time.Sleep(d)
	b1, a1, p1, err := read()
	if err != nil || a1 <= a0 {
		return 0, 0
	}
	pids := p1 - p0
	if pids < 0 {
		pids += pidMax() // wrapped
	}
	return 100 * float64(b1-b0) / float64(a1-a0), float64(pids) / d.Seconds()
}

// pidMax is the kernel's pid_max, 32768 if unreadable.
func pidMax() int {
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if n, err2 := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && err2 == nil {
		return n
	}
	return 32768
}

// field returns the value of the first "key: value" line of path with key.
func field(path, key string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// find returns the scenarios of observer whose name starts with prefix.
func (r *report) find(observer, prefix string) []result {
	var out []result
	for _, s := range r.Scenarios {
		if s.Observer == observer && strings.HasPrefix(s.Name, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// evaluate fills the comparisons and the targets, for each source measured.
func (r *report) evaluate() {
	r.IdleRSSMiB = map[string]float64{}
	forkstatExec := r.find("forkstat", "exec storm")
	for _, source := range r.Settings.Sources {
		r.evaluateSource(source, forkstatExec)
	}
}

// sourceTargets are the goals of one source: the eBPF source's are the
// stricter, for it races nothing.
var sourceTargets = map[string]struct {
	idlePercent, steadyPercent float64
	forkRSSMiB                 float64
}{
	sourceEBPF:    {idlePercent: 0.2, steadyPercent: 10},
	sourceNetlink: {idlePercent: 0.5, forkRSSMiB: 30},
}

func (r *report) evaluateSource(source string, forkstatExec []result) {
	observer := "procmon/" + source
	goal := sourceTargets[source]
	add := func(name, got string, met bool) {
		r.Targets = append(r.Targets, target{Name: source + ": " + name, Got: got, Met: met})
	}
	procmonExec := r.find(observer, "exec storm")
	if len(procmonExec) > 0 && len(forkstatExec) > 0 {
		c := comparison{Source: source}
		var bpf []float64
		for _, s := range procmonExec {
			c.ProcmonCPUPer1k = append(c.ProcmonCPUPer1k, s.CPUPer1k)
			bpf = append(bpf, s.BPFPer1k)
		}
		for _, s := range forkstatExec {
			c.ForkstatCPUPer1k = append(c.ForkstatCPUPer1k, s.CPUPer1k)
		}
		c.ProcmonMean, c.ForkstatMean, c.BPFPer1k = mean(c.ProcmonCPUPer1k), mean(c.ForkstatCPUPer1k), mean(bpf)
		if c.ForkstatMean > 0 {
			c.Ratio = c.ProcmonMean / c.ForkstatMean
			got := fmt.Sprintf("%.2f× (procmon %.3f s, forkstat %.3f s per 1,000)", c.Ratio, c.ProcmonMean, c.ForkstatMean)
			if c.BPFPer1k > 0 {
				got += fmt.Sprintf("; BPF programs %.3f s more", c.BPFPer1k)
			}
			add("CPU per 1,000 exec lifecycles ≤ 1.5× forkstat", got, c.Ratio <= 1.5)
			add("stretch: CPU per 1,000 exec lifecycles ≤ 1.0× forkstat", got, c.Ratio <= 1.0)
		}
		r.Comparisons = append(r.Comparisons, c)
	}

	lossless := func(name string, runs []result) {
		var lost, dropped int64
		for _, s := range runs {
			if s.Account == nil {
				continue
			}
			lost += s.Account.Lost
			dropped += s.Account.Dropped
		}
		add(name+": 0 lost, 0 dropped", fmt.Sprintf("%d lost, %d dropped (%d runs)", lost, dropped, len(runs)),
			len(runs) > 0 && lost == 0 && dropped == 0)
	}
	lossless("exec storm", procmonExec)
	forkRuns := r.find(observer, "fork storm")
	lossless("fork storm", forkRuns)

	if idle := r.find(observer, "idle"); len(idle) > 0 {
		r.IdleRSSMiB[source] = idle[0].RSSEndMiB
		add(fmt.Sprintf("idle < %g%% of one core", goal.idlePercent), fmt.Sprintf("%.3f%%", idle[0].CPUPercent),
			idle[0].CPUPercent < goal.idlePercent)
		if len(forkRuns) > 0 && goal.forkRSSMiB > 0 {
			f := forkRuns[0]
			add(fmt.Sprintf("fork storm peak RSS ≤ idle RSS + %g MiB", goal.forkRSSMiB),
				fmt.Sprintf("%.1f MiB vs idle %.1f MiB (+%.1f MiB)", f.RSSMaxMiB, idle[0].RSSEndMiB, f.RSSMaxMiB-idle[0].RSSEndMiB),
				f.RSSMaxMiB <= idle[0].RSSEndMiB+goal.forkRSSMiB)
		}
	}
	if steady := r.find(observer, "steady"); len(steady) > 0 {
		s := steady[0]
		if goal.steadyPercent > 0 {
			add(fmt.Sprintf("steady %g/s < %g%% of one core", r.Settings.SteadyRate, goal.steadyPercent),
				fmt.Sprintf("%.2f%%", s.CPUPercent), s.CPUPercent < goal.steadyPercent)
		}
		if s.Latency != nil {
			add(fmt.Sprintf("steady %g/s p99 latency < 100 ms", r.Settings.SteadyRate),
				fmt.Sprintf("%.1f ms", s.Latency.P99), s.Latency.N > 0 && s.Latency.P99 < 100)
		}
	}
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// brief is a one-line progress note for a finished scenario.
func (s result) brief() string {
	out := fmt.Sprintf("%d processes, CPU %.2fs, RSS max %.1f MiB", s.Processes, s.CPUSeconds, s.RSSMaxMiB)
	if s.Account != nil {
		out += fmt.Sprintf(", delivered %d of %d, account %s", s.Account.Delivered, s.Account.Generated, s.Account)
	}
	return out
}

// print writes the results and the targets as Markdown tables.
func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nprocbench %s on %d × %s, %.0f MiB, kernel %s\n", r.Date, r.Machine.CPUs, r.Machine.CPUModel, r.Machine.MemTotalMiB, r.Machine.Kernel)
	fmt.Fprintf(w, "host before the run: load %s, %.1f%% of all CPUs busy, %.1f new pids/s\n\n", r.Machine.LoadAvg, r.Machine.BusyPercent, r.Machine.NewPIDsPerSec)
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	row := func(cells ...string) { fmt.Fprintln(tw, "| "+strings.Join(cells, "\t| ")+"\t|") }
	row("scenario", "observer", "processes", "rate/s", "generated", "delivered", "lost", "dropped", "filtered",
		"account", "other forks", "CPU s (sys)", "CPU s/1k", "CPU % core", "RSS max MiB", "VmHWM MiB", "p50 ms", "p99 ms", "max ms", "p99 read ms", "drain s", "BPF s/1k")
	row("---", "---", "--:", "--:", "--:", "--:", "--:", "--:", "--:", "---", "--:", "--:", "--:", "--:", "--:", "--:", "--:", "--:", "--:", "--:", "--:", "--:")
	dash := "–"
	for _, s := range r.Scenarios {
		c := []string{s.Name, s.Observer, dash, dash, dash, dash, dash, dash, dash, dash, dash,
			fmt.Sprintf("%.2f (%.2f)", s.CPUSeconds, s.SysSeconds), dash, f3(s.CPUPercent), f1(s.RSSMaxMiB), f1(s.HWMMiB), dash, dash, dash, dash, dash, dash}
		if s.Processes > 0 {
			c[2], c[3], c[12] = strconv.Itoa(s.Processes), fmt.Sprintf("%.0f", s.Rate), f3(s.CPUPer1k)
			c[20] = f1(s.DrainSeconds)
			if s.BPFRuns > 0 {
				c[21] = f3(s.BPFPer1k)
			}
		}
		if a := s.Account; a != nil {
			c[4], c[5] = strconv.FormatInt(a.Generated, 10), strconv.FormatInt(a.Delivered, 10)
			c[6], c[7], c[8] = strconv.FormatInt(a.Lost, 10), strconv.FormatInt(a.Dropped, 10), strconv.FormatInt(a.Filtered, 10)
			c[9] = a.String()
		}
		c[10] = strconv.FormatInt(s.OtherForks, 10)
		if l := s.Latency; l != nil && l.N > 0 {
			c[16], c[17], c[18], c[19] = f1(l.P50), f1(l.P99), f1(l.Max), f1(l.Read.P99)
		}
		row(c...)
	}
	tw.Flush()

	fmt.Fprintln(w)
	for _, c := range r.Comparisons {
		fmt.Fprintf(w, "CPU s per 1,000 exec lifecycles, %s: procmon %v, forkstat %v; procmon/forkstat = %.2f×",
			c.Source, fmts(c.ProcmonCPUPer1k), fmts(c.ForkstatCPUPer1k), c.Ratio)
		if c.BPFPer1k > 0 {
			fmt.Fprintf(w, "; its BPF programs %.3f s (charged to the processes)", c.BPFPer1k)
		}
		fmt.Fprintln(w)
	}
	for _, source := range r.Settings.Sources {
		if rss, ok := r.IdleRSSMiB[source]; ok {
			fmt.Fprintf(w, "Idle RSS, %s: %.1f MiB.\n", source, rss)
		}
	}
	fmt.Fprintln(w)
	row("target", "result", "met")
	row("---", "---", "---")
	met := 0
	for _, t := range r.Targets {
		word := "no"
		if t.Met {
			word, met = "yes", met+1
		}
		row(t.Name, t.Got, word)
	}
	tw.Flush()
	fmt.Fprintf(w, "\ntargets met: %d of %d\n", met, len(r.Targets))
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
func f3(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

// fmts formats values with three decimals.
func fmts(v []float64) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = f3(x)
	}
	return out
}

// write saves the report as indented JSON.
func (r *report) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("results written to %s\n", path)
	return nil
}
