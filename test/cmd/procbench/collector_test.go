package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestRenderConfig checks that the collector's configuration parses, carries
// the extra procmon settings, and has a batch processor in both pipelines
// only when a timeout is given.
func TestRenderConfig(t *testing.T) {
	type pipeline struct {
		Receivers, Processors, Exporters []string
	}
	type config struct {
		Receivers  map[string]map[string]any
		Processors map[string]map[string]any
		Service    struct{ Pipelines map[string]pipeline }
	}
	parse := func(idle bool, batch time.Duration) config {
		var c config
		require.NoError(t, yaml.Unmarshal([]byte(renderConfig("127.0.0.1:1", "ebpf", idle, batch, []string{"flush_interval: 20ms"})), &c))
		require.Equal(t, "20ms", c.Receivers["procmon"]["flush_interval"])
		require.Equal(t, "ebpf", c.Receivers["procmon"]["source"])
		require.Len(t, c.Service.Pipelines, 2)
		return c
	}

	plain := parse(false, 0)
	require.Equal(t, "1s", plain.Receivers["procmon"]["collection_interval"])
	require.Empty(t, plain.Processors)
	for name, p := range plain.Service.Pipelines {
		require.Empty(t, p.Processors, name)
		require.Equal(t, []string{"procmon"}, p.Receivers, name)
	}

	idle := parse(true, 0)
	require.NotContains(t, idle.Receivers["procmon"], "collection_interval", "idle keeps the default")

	batched := parse(false, 50*time.Millisecond)
	require.Equal(t, "50ms", batched.Processors["batch"]["timeout"])
	for name, p := range batched.Service.Pipelines {
		require.Equal(t, []string{"batch"}, p.Processors, name)
		require.Equal(t, []string{"otlp_grpc"}, p.Exporters, name)
	}
}
