package procmonreceiver

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

// loadEntry unmarshals the entry id of a config file into a default Config.
func loadEntry(t *testing.T, cm *confmap.Conf, id component.ID) (*Config, error) {
	t.Helper()
	sub, err := cm.Sub(id.String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	err = sub.Unmarshal(cfg)
	return cfg.(*Config), err
}

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		id       component.ID
		expected *Config
		// wantErrs are the lines of the validation error, in order.
		wantErrs []string
	}{
		{
			id: component.NewID(componentType),
			// Spelled out rather than createDefaultConfig() so that the
			// documented defaults are checked too.
			expected: &Config{
				Source:                "netlink",
				ProcRoot:              "/proc",
				ScanExistingProcesses: true,
				Workers:               0,
				QueueSize:             4096,
				ReceiveBufferBytes:    8 << 20,
				CollectionInterval:    10 * time.Second,
				Events:                []string{"exec", "exit"},
				MaxBatchSize:          512,
				FlushInterval:         200 * time.Millisecond,
				ReaderPriority:        "realtime",
			},
		},
		{
			id: component.NewIDWithName(componentType, "all_settings"),
			expected: &Config{
				Source:                "netlink",
				ProcRoot:              "/host/proc",
				ScanExistingProcesses: false,
				Workers:               4,
				QueueSize:             1024,
				ReceiveBufferBytes:    16777216,
				CollectionInterval:    30 * time.Second,
				Events:                []string{"exit"},
				MaxBatchSize:          100,
				FlushInterval:         time.Second,
				ReaderPriority:        "high",
			},
		},
		{
			id: component.NewIDWithName(componentType, "ebpf"),
			expected: &Config{
				Source:                "ebpf",
				ProcRoot:              "/proc",
				ScanExistingProcesses: true,
				QueueSize:             4096,
				ReceiveBufferBytes:    8 << 20,
				CollectionInterval:    10 * time.Second,
				Events:                []string{"exec", "exit"},
				MaxBatchSize:          512,
				FlushInterval:         200 * time.Millisecond,
				ReaderPriority:        "realtime",
			},
			wantErrs: []string{`source: "ebpf" is reserved for the eBPF event stream, which is not available yet; use "netlink"`},
		},
		{
			id: component.NewIDWithName(componentType, "bad_values"),
			wantErrs: []string{
				"workers: -1 is out of range; use 0 (one per CPU) to 1024",
				"queue_size: must be positive, got 0",
				"collection_interval: must be positive, got 0s",
				`events: unknown event "fork"; use exec or exit`,
				`events: "exec" is listed twice`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg, err := loadEntry(t, cm, tt.id)
			require.NoError(t, err)
			if tt.expected != nil {
				require.Equal(t, tt.expected, cfg)
			}
			err = confmap.Validate(cfg)
			if len(tt.wantErrs) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Equal(t, tt.wantErrs, strings.Split(err.Error(), "\n"))
		})
	}
}

func TestAllSettingsSetsEveryKey(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(componentType, "all_settings").String())
	require.NoError(t, err)

	// A new option missing from all_settings would go unchecked by TestLoadConfig.
	var keys []string
	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		if tag := typ.Field(i).Tag.Get("mapstructure"); tag != "" {
			keys = append(keys, tag)
		}
	}
	require.ElementsMatch(t, keys, sub.AllKeys())
}

func TestLoadConfigUnknownKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(file, []byte("procmon:\n  bogus: 1\n"), 0o600))
	cm, err := confmaptest.LoadConf(file)
	require.NoError(t, err)

	_, err = loadEntry(t, cm, component.NewID(componentType))
	require.ErrorContains(t, err, "bogus")
}

func TestLoadConfigWrongType(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(file, []byte("procmon:\n  workers: many\n"), 0o600))
	cm, err := confmaptest.LoadConf(file)
	require.NoError(t, err)

	_, err = loadEntry(t, cm, component.NewID(componentType))
	require.ErrorContains(t, err, "workers")
}

// bigBuffer is 1<<31 computed at run time, so that the file compiles where
// int has 32 bits (the row using it is skipped there).
func bigBuffer() int {
	n := int64(1) << 31
	return int(n)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
		// needs64 marks a value that an int of 32 bits cannot hold.
		needs64 bool
	}{
		{
			name:    "unknown source",
			mutate:  func(c *Config) { c.Source = "kprobe" },
			wantErr: `source: unknown source "kprobe"; use "netlink"`,
		},
		{
			name:    "empty source",
			mutate:  func(c *Config) { c.Source = "" },
			wantErr: `source: unknown source ""; use "netlink"`,
		},
		{
			name:    "ebpf reserved",
			mutate:  func(c *Config) { c.Source = "ebpf" },
			wantErr: `source: "ebpf" is reserved for the eBPF event stream, which is not available yet; use "netlink"`,
		},
		{
			name:    "empty proc_root",
			mutate:  func(c *Config) { c.ProcRoot = "" },
			wantErr: "proc_root: must not be empty",
		},
		{
			name:    "negative workers",
			mutate:  func(c *Config) { c.Workers = -1 },
			wantErr: "workers: -1 is out of range; use 0 (one per CPU) to 1024",
		},
		{
			name:    "too many workers",
			mutate:  func(c *Config) { c.Workers = 1025 },
			wantErr: "workers: 1025 is out of range; use 0 (one per CPU) to 1024",
		},
		{
			name:    "zero queue_size",
			mutate:  func(c *Config) { c.QueueSize = 0 },
			wantErr: "queue_size: must be positive, got 0",
		},
		{
			name:    "negative receive_buffer_bytes",
			mutate:  func(c *Config) { c.ReceiveBufferBytes = -1 },
			wantErr: "receive_buffer_bytes: -1 is out of range; use 0 (kernel default) to 1073741824",
		},
		{
			name:    "receive_buffer_bytes one over the limit",
			mutate:  func(c *Config) { c.ReceiveBufferBytes = 1<<30 + 1 },
			wantErr: "receive_buffer_bytes: 1073741825 is out of range; use 0 (kernel default) to 1073741824",
		},
		{
			name:    "receive_buffer_bytes 1<<31",
			mutate:  func(c *Config) { c.ReceiveBufferBytes = bigBuffer() },
			wantErr: "receive_buffer_bytes: 2147483648 is out of range; use 0 (kernel default) to 1073741824",
			needs64: true,
		},
		{
			name:    "zero collection_interval",
			mutate:  func(c *Config) { c.CollectionInterval = 0 },
			wantErr: "collection_interval: must be positive, got 0s",
		},
		{
			name:    "negative collection_interval",
			mutate:  func(c *Config) { c.CollectionInterval = -time.Second },
			wantErr: "collection_interval: must be positive, got -1s",
		},
		{
			name:    "zero max_batch_size",
			mutate:  func(c *Config) { c.MaxBatchSize = 0 },
			wantErr: "max_batch_size: must be positive, got 0",
		},
		{
			name:    "zero flush_interval",
			mutate:  func(c *Config) { c.FlushInterval = 0 },
			wantErr: "flush_interval: must be positive, got 0s",
		},
		{
			name:    "unknown reader_priority",
			mutate:  func(c *Config) { c.ReaderPriority = "max" },
			wantErr: `reader_priority: unknown priority "max"; use realtime, high or normal`,
		},
		{
			name:    "empty reader_priority",
			mutate:  func(c *Config) { c.ReaderPriority = "" },
			wantErr: `reader_priority: unknown priority ""; use realtime, high or normal`,
		},
		{
			name:    "empty events",
			mutate:  func(c *Config) { c.Events = []string{} },
			wantErr: "events: must list at least one of exec, exit",
		},
		{
			name:    "nil events",
			mutate:  func(c *Config) { c.Events = nil },
			wantErr: "events: must list at least one of exec, exit",
		},
		{
			name:    "unknown event",
			mutate:  func(c *Config) { c.Events = []string{"exec", "fork"} },
			wantErr: `events: unknown event "fork"; use exec or exit`,
		},
		{
			name:    "duplicate event",
			mutate:  func(c *Config) { c.Events = []string{"exec", "exit", "exec"} },
			wantErr: `events: "exec" is listed twice`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needs64 && strconv.IntSize < 64 {
				t.Skip("int cannot hold 1<<31 here")
			}
			cfg := createDefaultConfig()
			tt.mutate(cfg)
			require.EqualError(t, cfg.Validate(), tt.wantErr)
		})
	}
}

func TestConfigValidateBoundaries(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"workers 0 means one per CPU", func(c *Config) { c.Workers = 0 }},
		{"workers 1024", func(c *Config) { c.Workers = 1024 }},
		{"receive_buffer_bytes 0 keeps the kernel default", func(c *Config) { c.ReceiveBufferBytes = 0 }},
		{"receive_buffer_bytes at the limit", func(c *Config) { c.ReceiveBufferBytes = 1 << 30 }},
		{"only exit", func(c *Config) { c.Events = []string{"exit"} }},
		{"reader_priority high", func(c *Config) { c.ReaderPriority = "high" }},
		{"reader_priority normal", func(c *Config) { c.ReaderPriority = "normal" }},
		{"exit before exec", func(c *Config) { c.Events = []string{"exit", "exec"} }},
		{"smallest positive values", func(c *Config) {
			c.QueueSize, c.MaxBatchSize = 1, 1
			c.CollectionInterval, c.FlushInterval = time.Nanosecond, time.Nanosecond
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig()
			tt.mutate(cfg)
			require.NoError(t, cfg.Validate())
		})
	}
}

func TestConfigValidateReportsEveryError(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Source = "kprobe"
	cfg.ProcRoot = ""
	cfg.Workers = 2000
	cfg.QueueSize = -5
	cfg.ReceiveBufferBytes = -1
	cfg.CollectionInterval = 0
	cfg.MaxBatchSize = 0
	cfg.FlushInterval = -time.Millisecond
	cfg.ReaderPriority = "idle"
	cfg.Events = []string{"fork", "exit", "exit"}

	err := cfg.Validate()
	require.Error(t, err)
	// errors.Join keeps each error, so none hides another.
	joined, ok := err.(interface{ Unwrap() []error })
	require.True(t, ok, "Validate should join its errors, got %T", err)
	msgs := make([]string, 0, len(joined.Unwrap()))
	for _, e := range joined.Unwrap() {
		msgs = append(msgs, e.Error())
	}
	require.Equal(t, []string{
		`source: unknown source "kprobe"; use "netlink"`,
		"proc_root: must not be empty",
		"workers: 2000 is out of range; use 0 (one per CPU) to 1024",
		"queue_size: must be positive, got -5",
		"receive_buffer_bytes: -1 is out of range; use 0 (kernel default) to 1073741824",
		"collection_interval: must be positive, got 0s",
		"max_batch_size: must be positive, got 0",
		"flush_interval: must be positive, got -1ms",
		`reader_priority: unknown priority "idle"; use realtime, high or normal`,
		`events: unknown event "fork"; use exec or exit`,
		`events: "exit" is listed twice`,
	}, msgs)
}
