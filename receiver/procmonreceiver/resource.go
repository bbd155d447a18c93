package procmonreceiver

import (
	"os"

	"go.opentelemetry.io/collector/pdata/pcommon"
	conventions "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/procmon-otel/procmon/receiver/procmonreceiver/internal/metadata"
)

// resources makes the resources of the receiver's records and metrics, with
// the attributes resource_attributes leaves on: the host's (host.name,
// os.type), and for the records of a process in a container, container.id
// beside them, which k8sattributes and the like associate by. The metrics'
// also name the source (procmon.source).
type resources struct {
	cfg  metadata.ResourceAttributesConfig
	host string // "" when the host's name is unknown
}

func newResources(cfg metadata.ResourceAttributesConfig) *resources {
	host, _ := os.Hostname()
	return &resources{cfg: cfg, host: host}
}

// containerKey is the key of a record's resource in a batch: its container,
// or "" for the host's resource, which all records share when container.id
// is off.
func (rs *resources) containerKey(containerID string) string {
	if !rs.cfg.ContainerID.Enabled {
		return ""
	}
	return containerID
}

// builder starts a resource with the host's attributes.
func (rs *resources) builder() *metadata.ResourceBuilder {
	rb := metadata.NewResourceBuilder(rs.cfg)
	if rs.host != "" {
		rb.SetHostName(rs.host)
	}
	rb.SetOsType(conventions.OSTypeLinux.Value.AsString())
	return rb
}

// records returns the resource of the records of a process in container
// ("" for the host).
func (rs *resources) records(container string) pcommon.Resource {
	rb := rs.builder()
	if container != "" {
		rb.SetContainerID(container)
	}
	return rb.Emit()
}

// metrics returns the resource of the metrics, counted by source.
func (rs *resources) metrics(source string) pcommon.Resource {
	rb := rs.builder()
	rb.SetProcmonSource(source)
	return rb.Emit()
}
