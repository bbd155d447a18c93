package procmonreceiver

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/procmon-otel/procmon/receiver/procmonreceiver/internal/metadata"
)

// NewFactory returns the procmon receiver's factory.
func NewFactory() receiver.Factory {
	return newFactory(chooseSource)
}

// newFactory builds the factory around a source picker, which tests replace.
// The registry of running receivers lives in the factory, not in a package
// variable, so that separate factories never share state.
func newFactory(source sourceFunc) receiver.Factory {
	reg := &registry{source: source, m: make(map[*Config]*procmonReceiver)}
	return receiver.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		receiver.WithLogs(reg.createLogs, metadata.LogsStability),
		receiver.WithMetrics(reg.createMetrics, metadata.MetricsStability),
	)
}

// registry maps each Config to its one receiver, so that the logs and the
// metrics pipelines of one procmon entry share one monitor and one socket.
// An entry is removed at Shutdown, so the same Config can be created again.
type registry struct {
	source sourceFunc
	mu     sync.Mutex
	m      map[*Config]*procmonReceiver
}

func (r *registry) get(cfg *Config, set receiver.Settings) (*procmonReceiver, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rcv, ok := r.m[cfg]; ok {
		return rcv, nil
	}
	if platformError != nil {
		return nil, platformError
	}
	set.TelemetrySettings = signalAgnostic(set.TelemetrySettings)
	rcv := newReceiver(cfg, set, r.source, func() { r.remove(cfg) })
	r.m[cfg] = rcv
	return rcv, nil
}

func (r *registry) remove(cfg *Config) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, cfg)
}

func (r *registry) createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	rcv, err := r.get(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	rcv.setLogs(next)
	return rcv, nil
}

func (r *registry) createMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	rcv, err := r.get(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	rcv.setMetrics(next)
	return rcv, nil
}
