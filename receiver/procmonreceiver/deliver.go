package procmonreceiver

import (
	"context"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
)

// defaultRetry is the receiver's retry_on_failure: a memory_limiter's
// refusals usually end within a garbage collection, an exporter queue's
// within its timeout, and a batch held longer keeps new events queued.
func defaultRetry() configretry.BackOffConfig {
	return configretry.BackOffConfig{
		Enabled:             true,
		InitialInterval:     50 * time.Millisecond,
		MaxInterval:         5 * time.Second,
		MaxElapsedTime:      30 * time.Second,
		Multiplier:          2,
		RandomizationFactor: 0.2,
	}
}

// sendLogs hands one batch to the next consumer. While the refusal is not
// permanent it holds the batch and sends it again as retry_on_failure says;
// meanwhile the monitor's queues hold new events, and drop and count them
// when full, so the kernel's reader never waits. What is refused for good,
// held past max_elapsed_time, or held when Shutdown begins is counted in
// procmon.records.refused: nothing is lost without a count.
func (r *procmonReceiver) sendLogs(ld plog.Logs) {
	n := ld.LogRecordCount()
	retry := &r.cfg.RetryOnFailure
	// At least a millisecond between attempts, whatever the intervals say.
	wait, start := max(retry.InitialInterval, time.Millisecond), time.Now()
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
		d := jitter(wait, retry.RandomizationFactor)
		expired := retry.MaxElapsedTime > 0 && time.Since(start)+d > retry.MaxElapsedTime
		if !retry.Enabled || consumererror.IsPermanent(err) || expired || !r.sleep(d) {
			r.refused[signalLogs].Add(uint64(n))
			r.set.Logger.Warn("the next consumer refused procmon's log records; they are counted in procmon.records.refused",
				zap.Int("records", n), zap.Int("attempts", attempt), zap.Error(err))
			return
		}
		r.set.Logger.Debug("the next consumer refused procmon's log records for now; holding them",
			zap.Int("records", n), zap.Duration("retry_in", d), zap.Error(err))
		wait = time.Duration(float64(wait) * max(retry.Multiplier, 1))
		if retry.MaxInterval > 0 {
			wait = max(min(wait, retry.MaxInterval), time.Millisecond)
		}
	}
}

// jitter returns d moved at random by up to factor of itself, so that
// batches held together are not all sent again at once.
func jitter(d time.Duration, factor float64) time.Duration {
	if factor <= 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + factor*(2*rand.Float64()-1)))
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
