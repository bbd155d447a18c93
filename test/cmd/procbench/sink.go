package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// snapshot is one emission of procmon's counters: each value by metric name,
// with the event type or field in braces where the metric has one.
type snapshot struct {
	at     time.Time
	values map[string]int64
}

// get returns the value of key, 0 when absent.
func (s snapshot) get(key string) int64 { return s.values[key] }

// accountKeys are the counters the accounting check reads.
var accountKeys = func() []string {
	keys := []string{"procmon.events.lost"}
	for k := kindFork; k < numKinds; k++ {
		keys = append(keys, typed("procmon.events.dropped", k), typed("procmon.events.filtered", k), typed("procmon.events", k))
	}
	return keys
}()

// typed is the key of metric name's point for kind k.
func typed(name string, k kind) string { return name + "{" + metricType[k] + "}" }

// complete reports whether the snapshot has every counter the check reads;
// a batch may have split an emission.
func (s snapshot) complete() bool {
	for _, k := range accountKeys {
		if _, ok := s.values[k]; !ok {
			return false
		}
	}
	return true
}

// sink is an OTLP gRPC endpoint on loopback that keeps what procbench needs
// of every log record and procmon's counter snapshots.
type sink struct {
	endpoint string
	rcvs     []receiver.Logs

	mu    sync.Mutex
	recs  []record
	snaps map[int64]*snapshot
}

// startSink starts the OTLP receiver on a free loopback port.
func startSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{endpoint: ln.Addr().String(), snaps: make(map[int64]*snapshot)}
	if err := ln.Close(); err != nil {
		return nil, err
	}

	factory := otlpreceiver.NewFactory()
	cfg := factory.CreateDefaultConfig().(*otlpreceiver.Config)
	cfg.Protocols.GRPC.GetOrInsertDefault().NetAddr.Endpoint = s.endpoint
	// The fork storm's batches are large; the default 4 MiB limit would refuse them.
	cfg.Protocols.GRPC.Get().MaxRecvMsgSizeMiB = 256
	cfg.Protocols.HTTP = configoptional.None[otlpreceiver.HTTPConfig]()
	logs, err := consumer.NewLogs(s.consumeLogs)
	if err != nil {
		return nil, err
	}
	metrics, err := consumer.NewMetrics(s.consumeMetrics)
	if err != nil {
		return nil, err
	}
	settings := receivertest.NewNopSettings(factory.Type())
	ctx := context.Background()
	// One config, so one gRPC server serves both signals.
	lr, err := factory.CreateLogs(ctx, settings, cfg, logs)
	if err != nil {
		return nil, err
	}
	mr, err := factory.CreateMetrics(ctx, settings, cfg, metrics)
	if err != nil {
		return nil, err
	}
	for _, c := range []receiver.Logs{lr, mr} {
		if err := c.Start(ctx, componenttest.NewNopHost()); err != nil {
			return nil, errors.Join(fmt.Errorf("starting the OTLP sink: %w", err), s.close())
		}
		s.rcvs = append(s.rcvs, c)
	}
	return s, nil
}

// close stops the sink's receivers.
func (s *sink) close() error {
	var errs []error
	for _, r := range s.rcvs {
		errs = append(errs, r.Shutdown(context.Background()))
	}
	return errors.Join(errs...)
}

func (s *sink) consumeLogs(_ context.Context, ld plog.Logs) error {
	recv := time.Now().UnixNano()
	batch := make([]record, 0, ld.LogRecordCount())
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				batch = append(batch, toRecord(lr, recv))
			}
		}
	}
	s.mu.Lock()
	s.recs = append(s.recs, batch...)
	s.mu.Unlock()
	return nil
}

// toRecord keeps a log record's pids, event, scan mark and times.
func toRecord(lr plog.LogRecord, recv int64) record {
	r := record{kind: kindOf(lr.EventName()), ts: int64(lr.Timestamp()), obs: int64(lr.ObservedTimestamp()), recv: recv}
	attrs := lr.Attributes()
	if v, ok := attrs.Get("process.pid"); ok && v.Type() == pcommon.ValueTypeInt {
		r.pid = int32(v.Int())
	}
	if v, ok := attrs.Get("process.parent_pid"); ok && v.Type() == pcommon.ValueTypeInt {
		r.ppid = int32(v.Int())
	}
	_, initial := attrs.Get("procmon.initial_scan")
	_, rescan := attrs.Get("procmon.rescan")
	r.scan = initial || rescan
	return r
}

func (s *sink) consumeMetrics(_ context.Context, md pmetric.Metrics) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Type() != pmetric.MetricTypeSum || !strings.HasPrefix(m.Name(), "procmon.") {
					continue
				}
				for _, dp := range m.Sum().DataPoints().All() {
					// Points of one emission share its timestamp, even if a batch splits them.
					ts := int64(dp.Timestamp())
					snap := s.snaps[ts]
					if snap == nil {
						snap = &snapshot{at: dp.Timestamp().AsTime(), values: make(map[string]int64)}
						s.snaps[ts] = snap
					}
					snap.values[metricKey(m.Name(), dp.Attributes())] = dp.IntValue()
				}
			}
		}
	}
	return nil
}

// metricKey is name, followed by the point's attribute values in braces.
func metricKey(name string, attrs pcommon.Map) string {
	if attrs.Len() == 0 {
		return name
	}
	vals := make([]string, 0, attrs.Len())
	for _, v := range attrs.All() {
		vals = append(vals, v.AsString())
	}
	sort.Strings(vals)
	return name + "{" + strings.Join(vals, ",") + "}"
}

// reset forgets the records received so far.
func (s *sink) reset() {
	s.mu.Lock()
	s.recs = nil
	s.mu.Unlock()
}

// since returns a copy of the records from index *next on and moves *next past them.
func (s *sink) since(next *int) []record {
	s.mu.Lock()
	defer s.mu.Unlock()
	if *next > len(s.recs) {
		*next = 0 // reset since
	}
	out := slices.Clone(s.recs[*next:])
	*next = len(s.recs)
	return out
}

// snapshotAfter waits up to timeout for a counter snapshot taken at or
// after t, and returns the earliest such.
func (s *sink) snapshotAfter(t time.Time, timeout time.Duration) (snapshot, error) {
	deadline := time.Now().Add(timeout)
	for {
		s.mu.Lock()
		var best *snapshot
		for _, snap := range s.snaps {
			if !snap.at.Before(t) && snap.complete() && (best == nil || snap.at.Before(best.at)) {
				best = snap
			}
		}
		var out snapshot
		// Copied under the lock: a late part of the same emission may still be written.
		if best != nil {
			out = snapshot{at: best.at, values: make(map[string]int64, len(best.values))}
			for k, v := range best.values {
				out.values[k] = v
			}
		}
		s.mu.Unlock()
		if best != nil {
			return out, nil
		}
		if time.Now().After(deadline) {
			return snapshot{}, fmt.Errorf("no procmon metrics newer than %s within %s", t.Format(time.StampMilli), timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
