package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat.
const clockTicks = 100

// cpuTime is a process's CPU time in clock ticks: user and system.
type cpuTime struct {
	User, System uint64
}

// total is user plus system time.
func (c cpuTime) total() uint64 { return c.User + c.System }

// parseStatCPU returns utime and stime from the contents of /proc/<pid>/stat.
func parseStatCPU(stat []byte) (cpuTime, error) {
	// The command name may hold spaces and parentheses; fields restart after the last ')'.
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return cpuTime{}, errors.New("stat: no command name")
	}
	fields := bytes.Fields(stat[end+1:])
	// Field 3 (state) is fields[0], so utime (14) and stime (15) are 11 and 12.
	if len(fields) < 13 {
		return cpuTime{}, fmt.Errorf("stat: %d fields after the command name, want at least 13", len(fields))
	}
	utime, err := strconv.ParseUint(string(fields[11]), 10, 64)
	if err != nil {
		return cpuTime{}, fmt.Errorf("stat: utime: %w", err)
	}
	stime, err := strconv.ParseUint(string(fields[12]), 10, 64)
	if err != nil {
		return cpuTime{}, fmt.Errorf("stat: stime: %w", err)
	}
	return cpuTime{User: utime, System: stime}, nil
}

// memory is what procbench reads of /proc/<pid>/status, in KiB.
type memory struct {
	RSS, HWM uint64
}

// parseStatus returns VmRSS and VmHWM from the contents of /proc/<pid>/status.
func parseStatus(status []byte) (memory, error) {
	var m memory
	var seen int
	for line := range bytes.SplitSeq(status, []byte("\n")) {
		var dst *uint64
		switch {
		case bytes.HasPrefix(line, []byte("VmRSS:")):
			dst = &m.RSS
		case bytes.HasPrefix(line, []byte("VmHWM:")):
			dst = &m.HWM
		default:
			continue
		}
		f := bytes.Fields(line)
		if len(f) != 3 || string(f[2]) != "kB" {
			return memory{}, fmt.Errorf("status: unexpected line %q", line)
		}
		v, err := strconv.ParseUint(string(f[1]), 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("status: %s: %w", f[0], err)
		}
		*dst = v
		seen++
	}
	if seen != 2 {
		return memory{}, errors.New("status: no VmRSS or VmHWM (a kernel thread or a zombie)")
	}
	return m, nil
}

// usage is what a list of samples says of a process over a window.
type usage struct {
	cpu, sys         float64 // seconds: all, and the system part
	rssMax, rss, hwm float64 // MiB
	elapsed          time.Duration
}

// usageUntil sums the samples from the first to the first taken at or after
// end (the last if none is).
func usageUntil(samples []sample, end time.Time) usage {
	last := len(samples) - 1
	for i, s := range samples {
		if !s.at.Before(end) {
			last = i
			break
		}
	}
	u := usage{
		cpu:     float64(samples[last].cpu.total()-samples[0].cpu.total()) / clockTicks,
		sys:     float64(samples[last].cpu.System-samples[0].cpu.System) / clockTicks,
		rss:     mib(samples[last].mem.RSS),
		hwm:     mib(samples[last].mem.HWM),
		elapsed: samples[last].at.Sub(samples[0].at),
	}
	for _, s := range samples[:last+1] {
		u.rssMax = max(u.rssMax, mib(s.mem.RSS))
	}
	return u
}

// mib converts KiB to MiB.
func mib(kib uint64) float64 { return float64(kib) / 1024 }

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted, or 0 when it is empty.
func percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// spread summarises delays, in milliseconds.
type spread struct {
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// summarise sorts delays (nanoseconds) and returns their spread.
func summarise(delays []int64) spread {
	slices.Sort(delays)
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	if len(delays) == 0 {
		return spread{}
	}
	return spread{P50: ms(percentile(delays, 50)), P99: ms(percentile(delays, 99)), Max: ms(delays[len(delays)-1])}
}

// latency is how long records took from the kernel's event to the sink, and
// the two legs of that: to procmon's read of the event (ObservedTimestamp),
// and from there through batching and export to the sink.
type latency struct {
	spread
	Read     spread `json:"kernel_to_read"`
	Pipeline spread `json:"read_to_sink"`
	N        int    `json:"records"`
}

// kind is a record's event, for the three procbench follows.
type kind uint8

const (
	kindOther kind = iota
	kindFork
	kindExec
	kindExit
	numKinds
)

// kindNames are the records' EventName values.
var kindNames = [numKinds]string{"", "procmon.fork", "procmon.exec", "procmon.exit"}

// metricType is each kind's procmon.event.type in procmon's metrics.
var metricType = [numKinds]string{"", "fork", "exec", "exit"}

// kindOf returns the kind of an EventName.
func kindOf(eventName string) kind {
	for k := kindFork; k < numKinds; k++ {
		if kindNames[k] == eventName {
			return k
		}
	}
	return kindOther
}

// record is what the sink keeps of one log record.
type record struct {
	pid  int32
	kind kind
	// scan marks a record from a /proc scan, not from a kernel event.
	scan bool
	// ppid is process.parent_pid, 0 when absent.
	ppid int32
	// ts is the record's Timestamp (the kernel's event time), obs its
	// ObservedTimestamp (procmon's read) and recv when the sink got it; all
	// Unix nanoseconds.
	ts, obs, recv int64
}

// matcher counts, per kind, the records of the processes a scenario started,
// exactly: each pid is expected once per kind for each time it was started.
type matcher struct {
	kinds    []kind
	want     map[int32]int32
	got      map[pidKind]int32
	parent   int32
	from, to int64

	generated, delivered, duplicates [numKinds]int64
	// scanned counts records of those pids that came from a /proc scan.
	scanned                int64
	total, reads, pipeline []int64
	lastRecv               int64
}

type pidKind struct {
	pid  int32
	kind kind
}

// newMatcher expects one record of each of kinds for each entry of pids,
// children of parent, from kernel events between from and to (Unix
// nanoseconds).
func newMatcher(pids []int32, kinds []kind, parent int32, from, to int64) *matcher {
	m := &matcher{kinds: kinds, want: make(map[int32]int32, len(pids)), got: make(map[pidKind]int32), parent: parent, from: from, to: to}
	for _, p := range pids {
		m.want[p]++
	}
	for _, k := range kinds {
		m.generated[k] = int64(len(pids))
	}
	return m
}

// add counts recs; it may be called again with the records that came since.
func (m *matcher) add(recs []record) {
	for _, r := range recs {
		n, ok := m.want[r.pid]
		if !ok || !slices.Contains(m.kinds, r.kind) {
			continue
		}
		if r.scan {
			m.scanned++
			continue
		}
		// Another process that got a recycled pid: outside the scenario, or
		// not started by it (a record may lack the parent of a process gone early).
		if r.ts < m.from || r.ts > m.to || (r.ppid != 0 && r.ppid != m.parent) {
			continue
		}
		key := pidKind{r.pid, r.kind}
		m.got[key]++
		if m.got[key] > n {
			m.duplicates[r.kind]++
			continue
		}
		m.delivered[r.kind]++
		m.total = append(m.total, r.recv-r.ts)
		m.reads = append(m.reads, r.obs-r.ts)
		m.pipeline = append(m.pipeline, r.recv-r.obs)
		m.lastRecv = max(m.lastRecv, r.recv)
	}
}

// total sums a per-kind count.
func total(c [numKinds]int64) int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// latency summarises the delays of the records delivered.
func (m *matcher) latency() latency {
	return latency{spread: summarise(m.total), Read: summarise(m.reads), Pipeline: summarise(m.pipeline), N: len(m.total)}
}

// complete reports whether every expected record has come.
func (m *matcher) complete() bool {
	return total(m.delivered) == total(m.generated)
}

// account is the check that no event went unaccounted for: every event
// generated was delivered or counted by procmon as lost, dropped or filtered.
type account struct {
	Generated  int64 `json:"generated"`
	Delivered  int64 `json:"delivered"`
	Lost       int64 `json:"lost"`
	Dropped    int64 `json:"dropped"`
	Filtered   int64 `json:"filtered"`
	Duplicates int64 `json:"duplicates"`
}

// Holds reports whether generated == delivered + lost + dropped + filtered,
// with no duplicates.
func (a account) Holds() bool {
	return a.Duplicates == 0 && a.Generated == a.Delivered+a.Lost+a.Dropped+a.Filtered
}

// String says in a few words whether the account holds and, if not, by how much.
func (a account) String() string {
	diff := a.Delivered + a.Lost + a.Dropped + a.Filtered - a.Generated
	switch {
	case a.Holds():
		return "holds"
	case a.Duplicates > 0:
		return fmt.Sprintf("fails: %d duplicates", a.Duplicates)
	case diff < 0:
		return fmt.Sprintf("fails: %d unaccounted", -diff)
	}
	return fmt.Sprintf("fails: %d counted beyond", diff)
}

// parseHostCPU returns the busy and total clock ticks of all CPUs from the
// contents of /proc/stat.
func parseHostCPU(stat []byte) (busy, all uint64, err error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 5 || string(f[0]) != "cpu" {
		return 0, 0, errors.New("/proc/stat: no cpu line first")
	}
	var idle uint64
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/stat: %w", err)
		}
		// guest and guest_nice (9, 10) are already counted in user and nice.
		if i >= 8 {
			break
		}
		all += n
		// idle and iowait are 4 and 5.
		if i == 3 || i == 4 {
			idle += n
		}
	}
	return all - idle, all, nil
}

// parseForks returns the forks since boot (threads included) from the
// contents of /proc/stat.
func parseForks(stat []byte) (uint64, error) {
	for line := range bytes.SplitSeq(stat, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("processes ")); ok {
			return strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
		}
	}
	return 0, errors.New("/proc/stat: no processes line")
}
