package procmonreceiver

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
)

// backoff says how long a batch the next consumer refuses for now (a
// memory_limiter over its limit, a full exporter queue) is held and sent
// again: after initial, then twice as long each time up to max, for at most
// maxElapsed. Meanwhile the monitor's queues hold new events, and drop and
// count them when full, so the kernel's reader never waits.
type backoff struct {
	initial, max, maxElapsed time.Duration
}

// defaultBackoff is the receiver's backoff: a memory_limiter's refusals
// usually end within a garbage collection, an exporter's queue within its
// timeout.
func defaultBackoff() backoff {
	return backoff{initial: 50 * time.Millisecond, max: 5 * time.Second, maxElapsed: 30 * time.Second}
}

// sendLogs hands one batch to the next consumer, holding and retrying it
// while the refusal is not permanent. What is refused for good, or longer
// than r.retry.maxElapsed, or while the receiver shuts down, is counted in
// procmon.records.refused: nothing is lost without a count.
func (r *procmonReceiver) sendLogs(ld plog.Logs) {
	n := ld.LogRecordCount()
	wait, giveUp := r.retry.initial, time.Now().Add(r.retry.maxElapsed)
	for attempt := 1; ; attempt++ {
		ctx := r.obs.StartLogsOp(context.Background())
		err := r.logs.ConsumeLogs(ctx, ld)
		r.obs.EndLogsOp(ctx, r.source, n, err)
		if err == nil {
			if attempt > 1 {
				r.set.Logger.Info("the next consumer took procmon's held log records", zap.Int("records", n), zap.Int("attempts", attempt))
			}
			return
		}
		if consumererror.IsPermanent(err) || !time.Now().Add(wait).Before(giveUp) || !r.sleep(wait) {
			r.refused[signalLogs].Add(uint64(n))
			r.set.Logger.Warn("the next consumer refused procmon's log records; they are counted in procmon.records.refused",
				zap.Int("records", n), zap.Int("attempts", attempt), zap.Error(err))
			return
		}
		r.set.Logger.Debug("the next consumer refused procmon's log records for now; holding them",
			zap.Int("records", n), zap.Duration("retry_in", wait), zap.Error(err))
		wait = min(2*wait, r.retry.max)
	}
}

// sleep waits d, or less when Shutdown begins; it reports whether it waited
// all of d.
func (r *procmonReceiver) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.stopping:
		return false
	}
}

// emitMetrics sends a snapshot of the counters. A refused snapshot is not
// retried: the next one carries the same cumulative counts and more. Its
// data points are counted in procmon.records.refused.
func (r *procmonReceiver) emitMetrics() {
	own := receiverCounts{}
	for k := range own.filtered {
		own.filtered[k] = r.filtered[k].Load()
	}
	for s := range own.refused {
		own.refused[s] = r.refused[s].Load()
	}
	md := r.emitter.emit(r.mon.Counters(), own, pcommon.NewTimestampFromTime(time.Now()))
	n := md.DataPointCount()
	ctx := r.obs.StartMetricsOp(context.Background())
	err := r.metrics.ConsumeMetrics(ctx, md)
	r.obs.EndMetricsOp(ctx, r.source, n, err)
	if err != nil {
		r.refused[signalMetrics].Add(uint64(n))
		r.set.Logger.Warn("the next consumer refused procmon's metrics", zap.Error(err))
	}
}

// reportSourceState reports the source's health to the collector: a
// recoverable error while it fails or is being re-opened, OK once it runs
// again. The monitor's main loop calls it.
func (r *procmonReceiver) reportSourceState(err error) {
	if err != nil {
		componentstatus.ReportStatus(r.host, componentstatus.NewRecoverableErrorEvent(err))
		return
	}
	componentstatus.ReportStatus(r.host, componentstatus.NewEvent(componentstatus.StatusOK))
}
