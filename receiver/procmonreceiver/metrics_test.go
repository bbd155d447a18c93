package procmonreceiver

import (
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"
	conventions "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/internal/procmon"
	"github.com/procmon-otel/procmon/receiver/procmonreceiver/internal/metadata"
)

// distinctCounters has a distinct, non-zero value in every field, so that a
// value reported under the wrong metric shows. ExecDropped and ExitDropped
// repeat Dropped, as in every snapshot.
func distinctCounters() procmon.Counters {
	var c procmon.Counters
	for k := range c.Events {
		c.Events[k] = uint64(100 + k)
	}
	for k := range c.Dropped {
		c.Dropped[k] = uint64(300 + k)
	}
	for f := range c.Misses {
		c.Misses[f] = uint64(500 + f)
	}
	c.Exec = 201
	c.Exit = 202
	c.Restarts = 203
	c.ReinitFailures = 204
	c.ScanFailures = 205
	c.CallbacksExecuted = 206
	c.ExecDropped = c.Dropped[procevent.KindExec]
	c.ExitDropped = c.Dropped[procevent.KindExit]
	c.KernelLost = 209
	c.Malformed = 210
	c.Overruns = 211
	c.Tracked = 212
	c.Evictions = 213
	c.PidReuse = 214
	return c
}

// distinctOwn has a distinct, non-zero value for every kind and signal.
func distinctOwn() receiverCounts {
	var own receiverCounts
	for k := range own.filtered {
		own.filtered[k] = uint64(400 + k)
	}
	for s := range own.refused {
		own.refused[s] = uint64(600 + s)
	}
	return own
}

// testResources are the resources of a host called node-1.
func testResources(cfg metadata.ResourceAttributesConfig) *resources {
	return &resources{cfg: cfg, host: "node-1"}
}

// emitOnce emits one snapshot with cfg, started at start, at now.
func emitOnce(cfg metadata.MetricsBuilderConfig, c procmon.Counters, own receiverCounts, start, now pcommon.Timestamp) pmetric.Metrics {
	set := receivertest.NewNopSettings(metadata.Type)
	set.BuildInfo.Version = "v1.2.3"
	e := newMetricsEmitter(cfg, set, start, testResources(cfg.ResourceAttributes).metrics("ebpf"))
	return e.emit(c, own, now)
}

// repeats are the Counters fields that repeat others by design.
var repeats = map[string]bool{"ExecDropped": true, "ExitDropped": true}

// counterValues lists every number in c, array elements included, except the
// fields that repeat others.
func counterValues(c procmon.Counters) []uint64 {
	var vals []uint64
	v := reflect.ValueOf(c)
	for i := range v.NumField() {
		if repeats[v.Type().Field(i).Name] {
			continue
		}
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

// wantMetric is one expected metric: its unit, whether it is a gauge, the
// attribute that splits it ("" for none) and its points by that attribute's
// value ("" for a point without attributes).
type wantMetric struct {
	unit   string
	gauge  bool
	attr   string
	points map[string]int64
}

// byKind maps each kind but none to base+kind.
func byKind(base int64) map[string]int64 {
	m := map[string]int64{}
	for _, k := range procevent.Kinds() {
		m[k.String()] = base + int64(k)
	}
	return m
}

func TestEmitMetrics(t *testing.T) {
	c := distinctCounters()
	own := distinctOwn()
	// A new Counters field left at zero here would go untested.
	seen := map[uint64]bool{}
	for _, v := range append(append(counterValues(c), own.filtered[:]...), own.refused[:]...) {
		require.NotZero(t, v, "distinctCounters must set every field of procmon.Counters")
		require.False(t, seen[v], "distinctCounters must use distinct values, %d is repeated", v)
		seen[v] = true
	}

	start := pcommon.NewTimestampFromTime(time.Date(2025, time.November, 25, 17, 0, 0, 1, time.UTC))
	now := pcommon.NewTimestampFromTime(time.Date(2025, time.November, 25, 17, 0, 10, 2, time.UTC))
	md := emitOnce(metadata.NewDefaultMetricsBuilderConfig(), c, own, start, now)

	want := map[string]wantMetric{
		"procmon.events":          {"{event}", false, "procmon.event.type", byKind(100)},
		"procmon.events.dropped":  {"{event}", false, "procmon.event.type", byKind(300)},
		"procmon.events.filtered": {"{event}", false, "procmon.event.type", byKind(400)},
		"procmon.enrichment.misses": {"{read}", false, "procmon.field", map[string]int64{
			"exe": 500, "stat": 501, "status": 502, "cmdline": 503, "cwd": 504, "cgroup": 505,
		}},
		"procmon.processes.tracked":      {"{process}", true, "", map[string]int64{"": 212}},
		"procmon.execs":                  {"{process}", false, "", map[string]int64{"": 201}},
		"procmon.exits":                  {"{process}", false, "", map[string]int64{"": 202}},
		"procmon.source.restarts":        {"{restart}", false, "", map[string]int64{"": 203}},
		"procmon.source.reinit_failures": {"{failure}", false, "", map[string]int64{"": 204}},
		"procmon.scan.failures":          {"{failure}", false, "", map[string]int64{"": 205}},
		"procmon.callbacks.executed":     {"{callback}", false, "", map[string]int64{"": 206}},
		"procmon.events.lost":            {"{event}", false, "", map[string]int64{"": 209}},
		"procmon.messages.malformed":     {"{message}", false, "", map[string]int64{"": 210}},
		"procmon.source.overruns":        {"{overrun}", false, "", map[string]int64{"": 211}},
		"procmon.processes.evicted":      {"{process}", false, "", map[string]int64{"": 213}},
		"procmon.processes.pid_reused":   {"{process}", false, "", map[string]int64{"": 214}},
		"procmon.records.refused":        {"{record}", false, "procmon.signal", map[string]int64{"logs": 600, "metrics": 601}},
	}

	require.Equal(t, 1, md.ResourceMetrics().Len())
	rm := md.ResourceMetrics().At(0)
	require.Equal(t, map[string]any{"host.name": "node-1", "os.type": "linux", "procmon.source": "ebpf"},
		rm.Resource().Attributes().AsRaw())
	require.Equal(t, conventions.SchemaURL, rm.SchemaUrl())
	require.Equal(t, 1, rm.ScopeMetrics().Len())
	sm := rm.ScopeMetrics().At(0)
	require.Equal(t, metadata.ScopeName, sm.Scope().Name())
	require.Equal(t, "v1.2.3", sm.Scope().Version())

	reported := map[uint64]bool{}
	names := make([]string, 0, sm.Metrics().Len())
	for _, m := range sm.Metrics().All() {
		names = append(names, m.Name())
		w, ok := want[m.Name()]
		require.True(t, ok, "unexpected metric %s", m.Name())
		require.Equal(t, w.unit, m.Unit(), m.Name())
		require.NotEmpty(t, m.Description(), m.Name())

		var dps pmetric.NumberDataPointSlice
		if w.gauge {
			require.Equal(t, pmetric.MetricTypeGauge, m.Type(), m.Name())
			dps = m.Gauge().DataPoints()
		} else {
			require.Equal(t, pmetric.MetricTypeSum, m.Type(), m.Name())
			require.Equal(t, pmetric.AggregationTemporalityCumulative, m.Sum().AggregationTemporality(), m.Name())
			require.True(t, m.Sum().IsMonotonic(), m.Name())
			dps = m.Sum().DataPoints()
		}

		got := map[string]int64{}
		for _, dp := range dps.All() {
			require.Equal(t, start, dp.StartTimestamp(), m.Name())
			require.Equal(t, now, dp.Timestamp(), m.Name())
			require.Equal(t, pmetric.NumberDataPointValueTypeInt, dp.ValueType(), m.Name())
			key := ""
			switch dp.Attributes().Len() {
			case 0:
				require.Empty(t, w.attr, "%s: a point without %s", m.Name(), w.attr)
			case 1:
				v, ok := dp.Attributes().Get(w.attr)
				require.True(t, ok, "%s: the only attribute must be %s, got %v", m.Name(), w.attr, dp.Attributes().AsRaw())
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
	require.Len(t, names, len(want), "no metric twice")

	// Every counter reaches a metric, except the unused slots of no kind.
	for _, v := range append(append(counterValues(c), own.filtered[:]...), own.refused[:]...) {
		if v == c.Events[0] || v == c.Dropped[0] || v == own.filtered[0] {
			continue
		}
		require.True(t, reported[v], "counter value %d is in no metric", v)
	}
}

func TestMetricsAndResourceAttributesSwitchOff(t *testing.T) {
	cfg := metadata.NewDefaultMetricsBuilderConfig()
	cfg.Metrics.ProcmonEvents.Enabled = false
	cfg.Metrics.ProcmonProcessesTracked.Enabled = false
	cfg.ResourceAttributes.HostName.Enabled = false
	md := emitOnce(cfg, distinctCounters(), distinctOwn(), 1, 2)
	rm := md.ResourceMetrics().At(0)
	require.Equal(t, map[string]any{"os.type": "linux", "procmon.source": "ebpf"}, rm.Resource().Attributes().AsRaw())
	for _, m := range rm.ScopeMetrics().At(0).Metrics().All() {
		require.NotContains(t, []string{"procmon.events", "procmon.processes.tracked"}, m.Name())
	}
	require.Equal(t, 15, rm.ScopeMetrics().At(0).Metrics().Len())
}

func TestEmitMetricsZeroCounters(t *testing.T) {
	md := emitOnce(metadata.NewDefaultMetricsBuilderConfig(), procmon.Counters{}, receiverCounts{}, 1, 2)

	// Cumulative sums are reported from the start, at zero, so that a rate
	// can be computed from the first increase.
	sm := md.ResourceMetrics().At(0).ScopeMetrics().At(0)
	require.Equal(t, 17, sm.Metrics().Len())
	kinds := int(procevent.NumKinds) - 1
	require.Equal(t, 3*kinds+int(procevent.NumFields)+numSignals+1+11, md.DataPointCount())
	for _, m := range sm.Metrics().All() {
		var dps pmetric.NumberDataPointSlice
		switch m.Type() {
		case pmetric.MetricTypeSum:
			dps = m.Sum().DataPoints()
		case pmetric.MetricTypeGauge:
			dps = m.Gauge().DataPoints()
		default:
			t.Fatalf("%s: unexpected type %s", m.Name(), m.Type())
		}
		require.Positive(t, dps.Len(), m.Name())
		for _, dp := range dps.All() {
			require.Zero(t, dp.IntValue(), m.Name())
		}
	}
}
