package procmonreceiver

import (
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/procmon-otel/procmon/internal/procmon"
)

// distinctCounters has a distinct, non-zero value in every field, so that a value
// reported under the wrong metric shows.
func distinctCounters() procmon.Counters {
	var c procmon.Counters
	for k := range c.Events {
		c.Events[k] = uint64(100 + k)
	}
	c.Exec = 201
	c.Exit = 202
	c.Restarts = 203
	c.ReinitFailures = 204
	c.ScanFailures = 205
	c.CallbacksExecuted = 206
	c.ExecDropped = 207
	c.ExitDropped = 208
	c.KernelLost = 209
	c.Malformed = 210
	c.Overruns = 211
	return c
}

// counterValues lists every number in c, array elements included.
func counterValues(c procmon.Counters) []uint64 {
	var vals []uint64
	v := reflect.ValueOf(c)
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Array:
			for j := range f.Len() {
				vals = append(vals, f.Index(j).Uint())
			}
		default:
			vals = append(vals, f.Uint())
		}
	}
	return vals
}

// wantSum is one expected metric: its unit and its points by the value of
// procmon.event.type ("" for a point without attributes).
type wantSum struct {
	unit   string
	points map[string]int64
}

func TestBuildMetrics(t *testing.T) {
	c := distinctCounters()
	// A new Counters field left at zero here would go untested.
	seen := map[uint64]bool{}
	for _, v := range counterValues(c) {
		require.NotZero(t, v, "distinctCounters must set every field of procmon.Counters")
		require.False(t, seen[v], "distinctCounters must use distinct values, %d is repeated", v)
		seen[v] = true
	}

	start := pcommon.NewTimestampFromTime(time.Date(2025, time.November, 25, 17, 0, 0, 1, time.UTC))
	now := pcommon.NewTimestampFromTime(time.Date(2025, time.November, 25, 17, 0, 10, 2, time.UTC))
	res := pcommon.NewResource()
	res.Attributes().PutStr("host.name", "node-1")
	res.Attributes().PutStr("os.type", "linux")

	md := buildMetrics(c, start, now, res, "v1.2.3")

	want := map[string]wantSum{
		"procmon.events": {"{event}", map[string]int64{
			"fork": 101, "exec": 102, "exit": 103, "uid": 104, "gid": 105,
			"sid": 106, "ptrace": 107, "comm": 108, "coredump": 109,
		}},
		"procmon.events.dropped":         {"{event}", map[string]int64{"exec": 207, "exit": 208}},
		"procmon.execs":                  {"{process}", map[string]int64{"": 201}},
		"procmon.exits":                  {"{process}", map[string]int64{"": 202}},
		"procmon.source.restarts":        {"{restart}", map[string]int64{"": 203}},
		"procmon.source.reinit_failures": {"{failure}", map[string]int64{"": 204}},
		"procmon.scan.failures":          {"{failure}", map[string]int64{"": 205}},
		"procmon.callbacks.executed":     {"{callback}", map[string]int64{"": 206}},
		"procmon.events.lost":            {"{event}", map[string]int64{"": 209}},
		"procmon.messages.malformed":     {"{message}", map[string]int64{"": 210}},
		"procmon.source.overruns":        {"{overrun}", map[string]int64{"": 211}},
	}

	require.Equal(t, 1, md.ResourceMetrics().Len())
	rm := md.ResourceMetrics().At(0)
	require.Equal(t, res.Attributes().AsRaw(), rm.Resource().Attributes().AsRaw())
	require.Equal(t, 1, rm.ScopeMetrics().Len())
	sm := rm.ScopeMetrics().At(0)
	require.Equal(t, scopeName, sm.Scope().Name())
	require.Equal(t, "v1.2.3", sm.Scope().Version())

	reported := map[uint64]bool{}
	names := make([]string, 0, sm.Metrics().Len())
	for i := range sm.Metrics().Len() {
		m := sm.Metrics().At(i)
		names = append(names, m.Name())
		w, ok := want[m.Name()]
		require.True(t, ok, "unexpected metric %s", m.Name())
		require.Equal(t, w.unit, m.Unit(), m.Name())
		require.NotEmpty(t, m.Description(), m.Name())
		require.Equal(t, pmetric.MetricTypeSum, m.Type(), m.Name())
		require.Equal(t, pmetric.AggregationTemporalityCumulative, m.Sum().AggregationTemporality(), m.Name())
		require.True(t, m.Sum().IsMonotonic(), m.Name())

		got := map[string]int64{}
		dps := m.Sum().DataPoints()
		for j := range dps.Len() {
			dp := dps.At(j)
			require.Equal(t, start, dp.StartTimestamp(), m.Name())
			require.Equal(t, now, dp.Timestamp(), m.Name())
			require.Equal(t, pmetric.NumberDataPointValueTypeInt, dp.ValueType(), m.Name())
			key := ""
			switch dp.Attributes().Len() {
			case 0:
			case 1:
				v, ok := dp.Attributes().Get("procmon.event.type")
				require.True(t, ok, "%s: the only attribute must be procmon.event.type, got %v", m.Name(), dp.Attributes().AsRaw())
				key = v.Str()
			default:
				t.Fatalf("%s: too many attributes: %v", m.Name(), dp.Attributes().AsRaw())
			}
			_, dup := got[key]
			require.False(t, dup, "%s: two points for %q", m.Name(), key)
			got[key] = dp.IntValue()
			reported[uint64(dp.IntValue())] = true
		}
		require.Equal(t, w.points, got, m.Name())
	}
	wantNames := make([]string, 0, len(want))
	for name := range want {
		wantNames = append(wantNames, name)
	}
	require.ElementsMatch(t, wantNames, names)

	// Every counter reaches a metric, except events of kind none, which the
	// kernel never sends.
	for _, v := range counterValues(c) {
		if v == c.Events[procmon.KindNone] {
			continue
		}
		require.True(t, reported[v], "counter value %d is in no metric", v)
	}
}

func TestBuildMetricsCopiesResource(t *testing.T) {
	res := pcommon.NewResource()
	res.Attributes().PutStr("host.name", "node-1")
	md := buildMetrics(distinctCounters(), 1, 2, res, "")

	// The receiver reuses its resource for every snapshot; a later change
	// must not reach metrics already sent.
	res.Attributes().PutStr("host.name", "changed")
	got, ok := md.ResourceMetrics().At(0).Resource().Attributes().Get("host.name")
	require.True(t, ok)
	require.Equal(t, "node-1", got.Str())
}

func TestBuildMetricsZeroCounters(t *testing.T) {
	md := buildMetrics(procmon.Counters{}, 1, 2, pcommon.NewResource(), "")

	// Cumulative sums are reported from the start, at zero, so that a rate
	// can be computed from the first increase.
	sm := md.ResourceMetrics().At(0).ScopeMetrics().At(0)
	require.Equal(t, 11, sm.Metrics().Len())
	require.Equal(t, 9+2+9, md.DataPointCount())
	for i := range sm.Metrics().Len() {
		dps := sm.Metrics().At(i).Sum().DataPoints()
		for j := range dps.Len() {
			require.Zero(t, dps.At(j).IntValue())
		}
	}
}
