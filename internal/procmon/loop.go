package procmon

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"go.uber.org/zap"

	"github.com/procmon-otel/procmon/internal/procevent"
)

// run is the main event loop: it receives from the source and restarts it
// after errors until Stop.
func (m *Monitor) run(src procevent.Source) {
	defer m.loops.Done()
	if m.cfg.ReaderSetup != nil {
		runtime.LockOSThread() // never unlocked: the thread ends with the loop
		m.cfg.ReaderSetup()
	}
	sink := loopSink{m, m.fs.NewReader()}
	var lastOverrunScan time.Time
	overrunScanDue := false
	for {
		err := src.Receive(sink)
		if m.ctx.Err() != nil {
			return
		}
		if overrunScanDue && m.now().Sub(lastOverrunScan) >= time.Second {
			overrunScanDue = false
			lastOverrunScan = m.now()
			m.rescan()
		}
		switch {
		case err == nil:
			continue
		case errors.Is(err, procevent.ErrOverrun) && !m.cfg.RestartOnOverrun:
			// The socket is still good and the loss is counted exactly
			// from the kernel's sequence numbers; look for the processes
			// that started meanwhile instead of re-opening.
			m.ctr.overruns.Add(1)
			// In a storm overruns come in runs; a scan per overrun would
			// slow the reader and cause more, so scan at most once a second,
			// and later for an overrun that comes sooner.
			if m.now().Sub(lastOverrunScan) >= time.Second {
				lastOverrunScan = m.now()
				m.log.Warn("process event source overrun; the kernel dropped events, rescanning /proc", zap.Error(err))
				m.rescan()
			} else {
				overrunScanDue = true
			}
			continue
		}
		if errors.Is(err, procevent.ErrOverrun) {
			m.ctr.overruns.Add(1)
		}
		m.ctr.restarts.Add(1)
		m.log.Warn("process event source failed; restarting it", zap.Error(err))
		m.sourceState(fmt.Errorf("the process event source failed and is being restarted: %w", err))
		// Open the new source before closing the old one: while one of
		// procmon's sockets stays subscribed the kernel keeps numbering its
		// events, so the events of the gap are counted as lost rather than
		// never made.
		next := m.reopen()
		_ = src.Close()
		if next == nil {
			return
		}
		src = next
		m.rescan()
	}
}

// reopen opens the source again, retrying with growing backoff; it returns
// nil when the monitor stops first.
func (m *Monitor) reopen() procevent.Source {
	wait := m.cfg.RestartBackoff
	for {
		select {
		case <-m.ctx.Done():
			return nil
		case <-time.After(wait):
		}
		src, err := m.cfg.Open()
		if err == nil {
			m.srcMu.Lock()
			defer m.srcMu.Unlock()
			if !m.srcUp {
				_ = src.Close()
				return nil
			}
			m.src = src
			m.log.Info("process event source re-opened")
			m.sourceState(nil)
			return src
		}
		m.ctr.reinitFailures.Add(1)
		m.log.Warn("re-opening the process event source failed; retrying", zap.Error(err), zap.Duration("backoff", wait))
		m.sourceState(fmt.Errorf("re-opening the process event source failed, retrying in %s: %w", wait, err))
		wait = min(wait*2, m.cfg.MaxRestartBackoff)
	}
}

// housekeep periodically logs the counters, re-measures the clock offsets and
// drops pid table entries of processes whose exit was lost.
func (m *Monitor) housekeep() {
	defer m.loops.Done()
	t := time.NewTicker(m.cfg.StatsInterval)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		m.clock.calibrate()
		swept := m.table.sweep(m.fs.Exists)
		c := m.ctr.snapshot()
		m.log.Debug("process monitor counters",
			zap.Uint64("exec", c.Exec), zap.Uint64("exit", c.Exit),
			zap.Uint64("restarts", c.Restarts), zap.Uint64("reinit_failures", c.ReinitFailures),
			zap.Uint64("scan_failures", c.ScanFailures), zap.Uint64("callbacks_executed", c.CallbacksExecuted),
			zap.Uint64("exec_dropped", c.ExecDropped), zap.Uint64("exit_dropped", c.ExitDropped),
			zap.Uint64("kernel_lost", c.KernelLost), zap.Uint64("malformed", c.Malformed),
			zap.Int64("deepest_queue", m.depth.Swap(0)), zap.Int("tracked", m.table.len()), zap.Int("swept", swept))
	}
}

// sourceState tells Config.SourceState, if set, how the source is.
func (m *Monitor) sourceState(err error) {
	if m.cfg.SourceState != nil {
		m.cfg.SourceState(err)
	}
}
