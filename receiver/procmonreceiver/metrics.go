package procmonreceiver

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/internal/procmon"
)

// attrSource is the resource attribute of the metrics that names the event
// source in use: ebpf or netlink.
const attrSource = "procmon.source"

// attrEventType is the attribute that splits counters by kernel event type.
const attrEventType = "procmon.event.type"

// counterMetric describes one cumulative sum built from the counters.
type counterMetric struct {
	name, unit, desc string
	value            func(c *procmon.Counters) uint64
}

// counterMetrics are the sums without attributes, in the order emitted.
var counterMetrics = []counterMetric{
	{"procmon.execs", "{process}", "Processes that called exec.", func(c *procmon.Counters) uint64 { return c.Exec }},
	{"procmon.exits", "{process}", "Processes that exited (threads not counted).", func(c *procmon.Counters) uint64 { return c.Exit }},
	{"procmon.source.restarts", "{restart}", "Restarts of the event source after an error.", func(c *procmon.Counters) uint64 { return c.Restarts }},
	{"procmon.source.reinit_failures", "{failure}", "Failed attempts to re-open the event source.", func(c *procmon.Counters) uint64 { return c.ReinitFailures }},
	{"procmon.source.overruns", "{overrun}", "Times the kernel reported a full receive buffer.", func(c *procmon.Counters) uint64 { return c.Overruns }},
	{"procmon.scan.failures", "{failure}", "Scans of /proc that failed.", func(c *procmon.Counters) uint64 { return c.ScanFailures }},
	{"procmon.callbacks.executed", "{callback}", "Subscriber callbacks run for exec and exit events.", func(c *procmon.Counters) uint64 { return c.CallbacksExecuted }},
	{"procmon.events.lost", "{event}", "Events the kernel sent that procmon never received (sequence gaps).", func(c *procmon.Counters) uint64 { return c.KernelLost }},
	{"procmon.messages.malformed", "{message}", "Kernel messages that could not be decoded and were skipped.", func(c *procmon.Counters) uint64 { return c.Malformed }},
	{"procmon.processes.evicted", "{process}", "Processes dropped from the full pid table before their exit.", func(c *procmon.Counters) uint64 { return c.Evictions }},
	{"procmon.processes.pid_reused", "{process}", "Exits whose recorded process proved an earlier holder of the pid, so its metadata was not used.", func(c *procmon.Counters) uint64 { return c.PidReuse }},
}

// attrField is the attribute that splits enrichment misses by /proc field.
const attrField = "procmon.field"

// buildMetrics turns a counter snapshot into cumulative monotonic sums.
// filtered counts, by kind, the events the receiver's filter dropped.
func buildMetrics(c procmon.Counters, filtered [procevent.NumKinds]uint64, start, now pcommon.Timestamp, res pcommon.Resource, version string) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	res.CopyTo(rm.Resource())
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(scopeName)
	sm.Scope().SetVersion(version)
	ms := sm.Metrics()
	ms.EnsureCapacity(len(counterMetrics) + 5)

	newSum := func(name, unit, desc string) pmetric.NumberDataPointSlice {
		m := ms.AppendEmpty()
		m.SetName(name)
		m.SetUnit(unit)
		m.SetDescription(desc)
		sum := m.SetEmptySum()
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		sum.SetIsMonotonic(true)
		return sum.DataPoints()
	}
	point := func(dps pmetric.NumberDataPointSlice, v uint64) pmetric.NumberDataPoint {
		dp := dps.AppendEmpty()
		dp.SetStartTimestamp(start)
		dp.SetTimestamp(now)
		dp.SetIntValue(int64(v))
		return dp
	}

	events := newSum("procmon.events", "{event}", "Kernel process events received, by type (thread events included).")
	for _, k := range procevent.Kinds() {
		point(events, c.Events[k]).Attributes().PutStr(attrEventType, k.String())
	}
	dropped := newSum("procmon.events.dropped", "{event}", "Events dropped because a worker queue was full, by type.")
	kept := newSum("procmon.events.filtered", "{event}", "Events not reported because the filter excluded their process, by type.")
	for _, k := range procevent.Kinds() {
		point(dropped, c.Dropped[k]).Attributes().PutStr(attrEventType, k.String())
		point(kept, filtered[k]).Attributes().PutStr(attrEventType, k.String())
	}
	misses := newSum("procmon.enrichment.misses", "{read}", "Reads of a process's /proc entry at exec or scan that failed, by field; most often the process was already gone.")
	for f := procevent.Field(0); f < procevent.NumFields; f++ {
		point(misses, c.Misses[f]).Attributes().PutStr(attrField, f.String())
	}
	tracked := ms.AppendEmpty()
	tracked.SetName("procmon.processes.tracked")
	tracked.SetUnit("{process}")
	tracked.SetDescription("Processes in the pid table now.")
	dp := tracked.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(now)
	dp.SetIntValue(int64(c.Tracked))
	for _, cm := range counterMetrics {
		point(newSum(cm.name, cm.unit, cm.desc), cm.value(&c))
	}
	return md
}
