package procmonreceiver

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"

	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/internal/procmon"
	"github.com/procmon-otel/procmon/receiver/procmonreceiver/internal/metadata"
)

// receiverCounts are the receiver's own counters beside the monitor's: what
// its filter kept out, by event kind, and what the next consumer refused,
// by signal.
type receiverCounts struct {
	filtered [procevent.NumKinds]uint64
	refused  [numSignals]uint64
}

// The signals procmon sends, as procmon.records.refused splits them.
const (
	signalLogs = iota
	signalMetrics
	numSignals
)

var signalAttr = [numSignals]metadata.AttributeProcmonSignal{
	signalLogs:    metadata.AttributeProcmonSignalLogs,
	signalMetrics: metadata.AttributeProcmonSignalMetrics,
}

// metricsEmitter turns counter snapshots into metrics with mdatagen's
// builder, which leaves out what the metrics: configuration switches off.
// One goroutine uses it at a time.
type metricsEmitter struct {
	mb  *metadata.MetricsBuilder
	res pcommon.Resource
}

func newMetricsEmitter(cfg metadata.MetricsBuilderConfig, set receiver.Settings, start pcommon.Timestamp, res pcommon.Resource) *metricsEmitter {
	return &metricsEmitter{mb: metadata.NewMetricsBuilder(cfg, set, metadata.WithStartTime(start)), res: res}
}

// emit returns the cumulative sums of c and own at now, and the pid table's
// size as a gauge.
func (e *metricsEmitter) emit(c procmon.Counters, own receiverCounts, now pcommon.Timestamp) pmetric.Metrics {
	mb := e.mb
	for _, k := range procevent.Kinds() {
		t := metadata.MapAttributeProcmonEventType[k.String()]
		mb.RecordProcmonEventsDataPoint(now, int64(c.Events[k]), t)
		mb.RecordProcmonEventsDroppedDataPoint(now, int64(c.Dropped[k]), t)
		mb.RecordProcmonEventsFilteredDataPoint(now, int64(own.filtered[k]), t)
	}
	for f := procevent.Field(0); f < procevent.NumFields; f++ {
		mb.RecordProcmonEnrichmentMissesDataPoint(now, int64(c.Misses[f]), metadata.MapAttributeProcmonField[f.String()])
	}
	for s, v := range own.refused {
		mb.RecordProcmonRecordsRefusedDataPoint(now, int64(v), signalAttr[s])
	}
	mb.RecordProcmonProcessesTrackedDataPoint(now, int64(c.Tracked))
	mb.RecordProcmonExecsDataPoint(now, int64(c.Exec))
	mb.RecordProcmonExitsDataPoint(now, int64(c.Exit))
	mb.RecordProcmonSourceRestartsDataPoint(now, int64(c.Restarts))
	mb.RecordProcmonSourceReinitFailuresDataPoint(now, int64(c.ReinitFailures))
	mb.RecordProcmonSourceOverrunsDataPoint(now, int64(c.Overruns))
	mb.RecordProcmonScanFailuresDataPoint(now, int64(c.ScanFailures))
	mb.RecordProcmonCallbacksExecutedDataPoint(now, int64(c.CallbacksExecuted))
	mb.RecordProcmonEventsLostDataPoint(now, int64(c.KernelLost))
	mb.RecordProcmonMessagesMalformedDataPoint(now, int64(c.Malformed))
	mb.RecordProcmonProcessesEvictedDataPoint(now, int64(c.Evictions))
	mb.RecordProcmonProcessesPidReusedDataPoint(now, int64(c.PidReuse))
	res := pcommon.NewResource()
	e.res.CopyTo(res)
	return mb.Emit(metadata.WithResource(res))
}
