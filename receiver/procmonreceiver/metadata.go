package procmonreceiver

import "go.opentelemetry.io/collector/component"

const (
	// typeStr is the component type users write under receivers:.
	typeStr = "procmon"
	// scopeName names the instrumentation scope of every record and metric.
	scopeName = "github.com/procmon-otel/procmon/receiver/procmonreceiver"
	// stability of both signals.
	stability = component.StabilityLevelDevelopment
)

// componentType is the receiver's component.Type.
var componentType = component.MustNewType(typeStr)
