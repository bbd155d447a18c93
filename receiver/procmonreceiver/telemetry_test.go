package procmonreceiver

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// injectingCore adds its attributes to every entry and can leave some out,
// as the collector's logger core does.
type injectingCore struct {
	zapcore.Core
	base  zapcore.Core
	attrs []zap.Field
}

func newInjectingCore(base zapcore.Core, attrs ...zap.Field) *injectingCore {
	return &injectingCore{Core: base.With(attrs), base: base, attrs: attrs}
}

func (c *injectingCore) DropInjectedAttributes(keys ...string) zapcore.Core {
	var kept []zap.Field
	for _, f := range c.attrs {
		if !slices.Contains(keys, f.Key) {
			kept = append(kept, f)
		}
	}
	return newInjectingCore(c.base, kept...)
}

func TestSignalAgnosticLogger(t *testing.T) {
	base, logs := observer.New(zapcore.InfoLevel)
	ts := componenttest.NewNopTelemetrySettings()
	ts.Logger = zap.New(newInjectingCore(base, zap.String(signalKey, "metrics"), zap.String("otelcol.component.id", "procmon")))

	signalAgnostic(ts).Logger.Info("refused")
	ts.Logger.Info("as given")

	entries := logs.All()
	assert.Len(t, entries, 2)
	agnostic, given := entries[0].ContextMap(), entries[1].ContextMap()
	assert.NotContains(t, agnostic, signalKey, "the receiver's logger still names a signal")
	assert.Equal(t, "procmon", agnostic["otelcol.component.id"], "the other attributes are kept")
	assert.Equal(t, "metrics", given[signalKey], "the settings passed in are left as they were")
}

func TestSignalAgnosticKeepsOtherLoggers(t *testing.T) {
	base, logs := observer.New(zapcore.InfoLevel)
	ts := componenttest.NewNopTelemetrySettings()
	ts.Logger = zap.New(base).With(zap.String(signalKey, "logs"))
	signalAgnostic(ts).Logger.Info("x")
	// A core without the ability is used as it is: nothing is lost.
	assert.Equal(t, "logs", logs.All()[0].ContextMap()[signalKey])
}
