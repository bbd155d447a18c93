package procmonreceiver

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"

	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/receiver/procmonreceiver/internal/metadata"
)

// errBlockingSourceClosed is what blockingSource.Receive returns once closed.
var errBlockingSourceClosed = errors.New("fake source closed")

// blockingSource delivers no events: Receive blocks until Close, as a socket read does.
type blockingSource struct {
	once   sync.Once
	closed chan struct{}
}

func newBlockingSource() *blockingSource {
	return &blockingSource{closed: make(chan struct{})}
}

func (s *blockingSource) Receive(procevent.Sink) error {
	<-s.closed
	return errBlockingSourceClosed
}

func (s *blockingSource) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// isClosed reports whether Close was called.
func (s *blockingSource) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// openerSource is a sourceFunc that calls newOpener for the source's
// opener: a fake one, named "fake".
func openerSource(newOpener func(*Config) (procevent.Opener, error)) sourceFunc {
	return func(cfg *Config, _ *zap.Logger) (eventSource, error) {
		open, err := newOpener(cfg)
		return eventSource{name: "fake", open: open}, err
	}
}

// countingOpener is an opener maker that counts its calls and keeps every source
// its openers open.
type countingOpener struct {
	calls atomic.Int32

	mu      sync.Mutex
	sources []*blockingSource
}

func (f *countingOpener) openerFunc(*Config) (procevent.Opener, error) {
	f.calls.Add(1)
	return func() (procevent.Source, error) {
		s := newBlockingSource()
		f.mu.Lock()
		defer f.mu.Unlock()
		f.sources = append(f.sources, s)
		return s, nil
	}, nil
}

func (f *countingOpener) opened() []*blockingSource {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*blockingSource(nil), f.sources...)
}

// factoryTestConfig is a valid Config that reads nothing from the host's /proc.
func factoryTestConfig(t *testing.T) *Config {
	t.Helper()
	cfg := createDefaultConfig()
	cfg.ProcRoot = t.TempDir()
	cfg.ScanExistingProcesses = false
	cfg.Workers = 2
	// The test process's threads keep their priority.
	cfg.ReaderPriority = priorityNormal
	return cfg
}

func TestNewFactoryType(t *testing.T) {
	f := NewFactory()
	require.Equal(t, "procmon", f.Type().String())
	require.Equal(t, component.StabilityLevelDevelopment, f.LogsStability())
	require.Equal(t, component.StabilityLevelDevelopment, f.MetricsStability())
}

func TestCreateDefaultConfig(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig()
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	require.NoError(t, confmap.Validate(cfg))
	requireSameConfig(t, documentedDefaults(), cfg.(*Config))
}

func TestFactorySharesReceiverPerConfig(t *testing.T) {
	fake := &countingOpener{}
	f := newFactory(openerSource(fake.openerFunc))
	set := receivertest.NewNopSettings(metadata.Type)
	cfg := factoryTestConfig(t)

	lr, err := f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	mr, err := f.CreateMetrics(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)

	// Both pipelines must share one monitor and one socket, whose source
	// is picked once, at the first Start.
	require.Same(t, lr, mr)
	require.Zero(t, fake.calls.Load())
	host := componenttest.NewNopHost()
	require.NoError(t, lr.Start(context.Background(), host))
	require.NoError(t, mr.Start(context.Background(), host))
	require.EqualValues(t, 1, fake.calls.Load())
	require.Len(t, fake.opened(), 1)

	other, err := f.CreateLogs(context.Background(), set, factoryTestConfig(t), consumertest.NewNop())
	require.NoError(t, err)
	require.NotSame(t, lr, other)
	require.NoError(t, other.Start(context.Background(), host))
	require.EqualValues(t, 2, fake.calls.Load())

	require.NoError(t, lr.Shutdown(context.Background()))
	require.NoError(t, other.Shutdown(context.Background()))
}

func TestFactorySameConfigAfterShutdown(t *testing.T) {
	fake := &countingOpener{}
	f := newFactory(openerSource(fake.openerFunc))
	set := receivertest.NewNopSettings(metadata.Type)
	cfg := factoryTestConfig(t)
	host := componenttest.NewNopHost()

	first, err := f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, first.Start(context.Background(), host))
	require.Len(t, fake.opened(), 1)
	require.NoError(t, first.Shutdown(context.Background()))
	require.True(t, fake.opened()[0].isClosed(), "Shutdown must close the source")

	second, err := f.CreateMetrics(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NotSame(t, first, second)

	require.NoError(t, second.Start(context.Background(), host))
	require.EqualValues(t, 2, fake.calls.Load())
	require.Len(t, fake.opened(), 2)
	require.NoError(t, second.Shutdown(context.Background()))
	require.True(t, fake.opened()[1].isClosed())
}

func TestStartAfterShutdownFails(t *testing.T) {
	fake := &countingOpener{}
	f := newFactory(openerSource(fake.openerFunc))
	host := componenttest.NewNopHost()

	rcv, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), factoryTestConfig(t), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), host))
	require.NoError(t, rcv.Shutdown(context.Background()))

	// A receiver is not restartable; saying so beats a silent dead receiver.
	require.ErrorContains(t, rcv.Start(context.Background(), host), "cannot be started again")
}

func TestStartAfterShutdownWithoutStartFails(t *testing.T) {
	fake := &countingOpener{}
	f := newFactory(openerSource(fake.openerFunc))

	rcv, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), factoryTestConfig(t), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, rcv.Shutdown(context.Background()))
	require.ErrorContains(t, rcv.Start(context.Background(), componenttest.NewNopHost()), "cannot be started again")
	require.Empty(t, fake.opened())
}

func TestFactoryStartTwiceOpensOnce(t *testing.T) {
	fake := &countingOpener{}
	f := newFactory(openerSource(fake.openerFunc))
	set := receivertest.NewNopSettings(metadata.Type)
	cfg := factoryTestConfig(t)
	host := componenttest.NewNopHost()

	lr, err := f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	mr, err := f.CreateMetrics(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)

	// The collector starts and stops each pipeline's component in turn.
	require.NoError(t, lr.Start(context.Background(), host))
	require.NoError(t, mr.Start(context.Background(), host))
	require.Len(t, fake.opened(), 1)
	require.NoError(t, lr.Shutdown(context.Background()))
	require.NoError(t, mr.Shutdown(context.Background()))
}

func TestShutdownWithoutStart(t *testing.T) {
	fake := &countingOpener{}
	f := newFactory(openerSource(fake.openerFunc))
	set := receivertest.NewNopSettings(metadata.Type)

	tests := []struct {
		name   string
		create func(cfg *Config) (component.Component, error)
	}{
		{"logs", func(cfg *Config) (component.Component, error) {
			return f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
		}},
		{"metrics", func(cfg *Config) (component.Component, error) {
			return f.CreateMetrics(context.Background(), set, cfg, consumertest.NewNop())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv, err := tt.create(factoryTestConfig(t))
			require.NoError(t, err)
			require.NoError(t, rcv.Shutdown(context.Background()))
			require.NoError(t, rcv.Shutdown(context.Background()))
		})
	}
	require.Empty(t, fake.opened(), "no source may be opened without Start")
}

func TestCreateWithWrongType(t *testing.T) {
	fake := &countingOpener{}
	f := newFactory(openerSource(fake.openerFunc))
	set := receivertest.NewNopSettings(component.MustNewType("other"))

	_, err := f.CreateLogs(context.Background(), set, factoryTestConfig(t), consumertest.NewNop())
	require.Error(t, err)
	require.Zero(t, fake.calls.Load())
}

// Compile-time check that the factory offers both signals as receiver.Factory.
var _ receiver.Factory = NewFactory()
