package procmonreceiver

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// signalKey is the attribute the collector adds to a component's logs and
// internal telemetry to name the pipeline's signal.
const signalKey = "otelcol.signal"

// The collector's logger core, tracer provider and meter provider can leave
// out the attributes the collector added to them. These interfaces name that
// ability; a provider without it is used as it is.
type (
	attributeDroppingCore interface {
		DropInjectedAttributes(keys ...string) zapcore.Core
	}
	attributeDroppingTracerProvider interface {
		DropInjectedAttributes(keys ...string) trace.TracerProvider
	}
	attributeDroppingMeterProvider interface {
		DropInjectedAttributes(keys ...string) metric.MeterProvider
	}
)

// signalAgnostic returns ts without the signal attribute. One procmon
// receiver serves its logs and its metrics pipelines, but the collector
// creates it with the settings of whichever pipeline came first: without
// this, a warning about refused log records would say otelcol.signal=metrics.
func signalAgnostic(ts component.TelemetrySettings) component.TelemetrySettings {
	ts.Logger = ts.Logger.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		if d, ok := c.(attributeDroppingCore); ok {
			return d.DropInjectedAttributes(signalKey)
		}
		return c
	}))
	if d, ok := ts.TracerProvider.(attributeDroppingTracerProvider); ok {
		ts.TracerProvider = d.DropInjectedAttributes(signalKey)
	}
	if d, ok := ts.MeterProvider.(attributeDroppingMeterProvider); ok {
		ts.MeterProvider = d.DropInjectedAttributes(signalKey)
	}
	return ts
}
