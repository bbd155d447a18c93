package procmonreceiver

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/procmon-otel/procmon/internal/procmon"
)

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
}

// buildMetrics turns a counter snapshot into cumulative monotonic sums.
func buildMetrics(c procmon.Counters, start, now pcommon.Timestamp, res pcommon.Resource, version string) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	res.CopyTo(rm.Resource())
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(scopeName)
	sm.Scope().SetVersion(version)
	ms := sm.Metrics()
	ms.EnsureCapacity(len(counterMetrics) + 2)

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
	for _, k := range procmon.Kinds() {
		if k == procmon.KindNone {
			continue
		}
		point(events, c.Events[k]).Attributes().PutStr(attrEventType, k.String())
	}
	dropped := newSum("procmon.events.dropped", "{event}", "Exec and exit events dropped because a worker queue was full.")
	point(dropped, c.ExecDropped).Attributes().PutStr(attrEventType, procmon.KindExec.String())
	point(dropped, c.ExitDropped).Attributes().PutStr(attrEventType, procmon.KindExit.String())
	for _, cm := range counterMetrics {
		point(newSum(cm.name, cm.unit, cm.desc), cm.value(&c))
	}
	return md
}
