package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and a ')' must not shift the fields.
	stat := "4242 (otel col) (x)) S 1 4242 4242 0 -1 4194560 1504 0 0 0 123 45 0 0 20 0 9 0 414608 5124096 9000 18446744073709551615\n"
	ticks, err := parseStatCPU([]byte(stat))
	require.NoError(t, err)
	require.Equal(t, cpuTime{User: 123, System: 45}, ticks)

	for _, bad := range []string{"", "4242 otelcol S 1", "4242 (x) S 1 2 3", "4242 (x) S 1 4242 4242 0 -1 4194560 1504 0 0 0 abc 45"} {
		_, err := parseStatCPU([]byte(bad))
		require.Error(t, err, "%q", bad)
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\totelcol\nVmPeak:\t 1000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\nThreads:\t9\n"
	m, err := parseStatus([]byte(status))
	require.NoError(t, err)
	require.Equal(t, memory{RSS: 40960, HWM: 51200}, m)

	_, err = parseStatus([]byte("Name:\tkthreadd\nThreads:\t1\n"))
	require.ErrorContains(t, err, "no VmRSS or VmHWM")
	_, err = parseStatus([]byte("VmHWM:\t12 MB\nVmRSS:\t1 kB\n"))
	require.ErrorContains(t, err, "unexpected line")
}

func TestParseHostCPU(t *testing.T) {
	stat := "cpu  100 5 50 800 40 3 2 0 7 0\ncpu0 50 2 25 400 20 1 1 0 0 0\n"
	busy, all, err := parseHostCPU([]byte(stat))
	require.NoError(t, err)
	require.Equal(t, uint64(1000), all, "guest time is inside user time already")
	require.Equal(t, uint64(160), busy)

	_, _, err = parseHostCPU([]byte("intr 1 2 3\n"))
	require.Error(t, err)
}

func TestPercentile(t *testing.T) {
	require.Zero(t, percentile(nil, 99))
	one := []int64{7}
	require.Equal(t, int64(7), percentile(one, 50))
	require.Equal(t, int64(7), percentile(one, 99))

	hundred := make([]int64, 100)
	for i := range hundred {
		hundred[i] = int64(i + 1)
	}
	// Nearest rank: the smallest value with at least p% of values at or below it.
	require.Equal(t, int64(50), percentile(hundred, 50))
	require.Equal(t, int64(99), percentile(hundred, 99))
	require.Equal(t, int64(100), percentile(hundred, 100))
	require.Equal(t, int64(1), percentile(hundred, 0.1))

	s := summarise([]int64{3e6, 1e6, 2e6})
	require.Equal(t, spread{P50: 2, P99: 3, Max: 3}, s)
}

func TestUsageUntil(t *testing.T) {
	t0 := time.Unix(1000, 0)
	samples := []sample{
		{at: t0, cpu: cpuTime{80, 20}, mem: memory{RSS: 10240, HWM: 10240}},
		{at: t0.Add(100 * time.Millisecond), cpu: cpuTime{110, 40}, mem: memory{RSS: 30720, HWM: 30720}},
		{at: t0.Add(200 * time.Millisecond), cpu: cpuTime{115, 45}, mem: memory{RSS: 20480, HWM: 30720}},
		{at: t0.Add(300 * time.Millisecond), cpu: cpuTime{120, 50}, mem: memory{RSS: 40960, HWM: 40960}},
	}
	u := usageUntil(samples, t0.Add(150*time.Millisecond))
	require.InDelta(t, 0.6, u.cpu, 1e-9, "up to the first sample at or after the end")
	require.InDelta(t, 0.25, u.sys, 1e-9)
	require.Equal(t, 30.0, u.rssMax, "the peak of this window, not of the process's life")
	require.Equal(t, 20.0, u.rss)
	require.Equal(t, 200*time.Millisecond, u.elapsed)

	u = usageUntil(samples, t0.Add(time.Hour))
	require.InDelta(t, 0.7, u.cpu, 1e-9)
	require.Equal(t, 40.0, u.hwm)
}

func TestMatcher(t *testing.T) {
	const parent = 500
	kinds := []kind{kindFork, kindExec, kindExit}
	// Pid 10 was started twice (the pid was recycled within the scenario).
	m := newMatcher([]int32{10, 11, 10}, kinds, parent, 1000, 2000)
	require.Equal(t, int64(9), total(m.generated))
	rec := func(pid int32, k kind, ts int64) record {
		return record{pid: pid, kind: k, ppid: parent, ts: ts, obs: ts + 1, recv: ts + 10}
	}
	m.add([]record{
		rec(10, kindFork, 1100), rec(10, kindExec, 1101), rec(10, kindExit, 1102),
		rec(11, kindFork, 1200), rec(11, kindExit, 1202), // 11's exec is missing
		rec(10, kindFork, 1300), rec(10, kindExec, 1301),
	})
	require.False(t, m.complete())
	m.add([]record{
		rec(10, kindExit, 1302),
		rec(10, kindExit, 1303),                      // a third exit of pid 10: a duplicate
		rec(12, kindExec, 1400),                      // not the scenario's
		rec(11, kindExec, 500),                       // before the scenario: an earlier holder of the pid
		{pid: 11, kind: kindExec, ppid: 9, ts: 1500}, // someone else's child
		{pid: 11, kind: kindExec, scan: true, ts: 1}, // found by a rescan
		rec(11, kindOther, 1203),                     // not an event the scenario counts
	})
	require.Equal(t, [numKinds]int64{0, 3, 2, 3}, m.delivered)
	require.Equal(t, [numKinds]int64{0, 0, 0, 1}, m.duplicates)
	require.Equal(t, int64(1), m.scanned)
	require.False(t, m.complete())

	// A record without a parent (its process was gone before procmon read it) still counts.
	m.add([]record{{pid: 11, kind: kindExec, ts: 1201, obs: 1202, recv: 1400}})
	require.True(t, m.complete())
	require.Equal(t, int64(1400), m.lastRecv)
	l := m.latency()
	require.Equal(t, 9, l.N)
	require.InDelta(t, 199e-6, l.Max, 1e-12, "1201 → 1400 ns")
}

func TestAccount(t *testing.T) {
	for _, tc := range []struct {
		a    account
		want string
	}{
		{account{Generated: 60000, Delivered: 60000}, "holds"},
		{account{Generated: 60000, Delivered: 59000, Lost: 700, Dropped: 200, Filtered: 100}, "holds"},
		{account{Generated: 60000, Delivered: 59000, Lost: 700}, "fails: 300 unaccounted"},
		{account{Generated: 60000, Delivered: 60000, Dropped: 50}, "fails: 50 counted beyond"},
		{account{Generated: 60000, Delivered: 60000, Duplicates: 2}, "fails: 2 duplicates"},
	} {
		require.Equal(t, tc.want, tc.a.String(), "%+v", tc.a)
		require.Equal(t, tc.want == "holds", tc.a.Holds())
	}
}

func TestKindOf(t *testing.T) {
	require.Equal(t, kindExec, kindOf("procmon.exec"))
	require.Equal(t, kindExit, kindOf("procmon.exit"))
	require.Equal(t, kindFork, kindOf("procmon.fork"))
	require.Equal(t, kindOther, kindOf("procmon.comm"))
	require.Equal(t, kindOther, kindOf(""))
}

func TestParseForks(t *testing.T) {
	n, err := parseForks([]byte("cpu  1 2 3 4\nctxt 99\nbtime 1\nprocesses 123456\nprocs_running 2\n"))
	require.NoError(t, err)
	require.Equal(t, uint64(123456), n)
	_, err = parseForks([]byte("cpu  1 2 3 4\n"))
	require.Error(t, err)
}
