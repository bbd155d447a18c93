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
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/procmon-otel/procmon/internal/filter"
	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/receiver/procmonreceiver/internal/metadata"
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

// documentedDefaults is the default Config spelled out rather than taken
// from createDefaultConfig(), so that the documented defaults are checked too.
func documentedDefaults() *Config {
	return &Config{
		Source:                "auto",
		ProcRoot:              "/proc",
		ScanExistingProcesses: true,
		Workers:               0,
		QueueSize:             4096,
		ReceiveBufferBytes:    8 << 20,
		CollectionInterval:    10 * time.Second,
		Events:                []string{"exec", "exit"},
		MaxBatchSize:          512,
		FlushInterval:         25 * time.Millisecond,
		RetryOnFailure: configretry.BackOffConfig{
			Enabled: true, InitialInterval: 50 * time.Millisecond, MaxInterval: 5 * time.Second,
			MaxElapsedTime: 30 * time.Second, Multiplier: 2, RandomizationFactor: 0.2,
		},
		ReaderPriority:       "realtime",
		CommandLine:          "redacted",
		RedactPatterns:       nil,
		MaxCommandLineLength: 4096,
		MaxTrackedProcesses:  65536,
		Filter:               filter.Config{Containers: "any"},
		MetricsBuilderConfig: metadata.NewDefaultMetricsBuilderConfig(),
	}
}

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	ebpf := documentedDefaults()
	ebpf.Source = "ebpf"
	ebpfNetlinkEvents := documentedDefaults()
	ebpfNetlinkEvents.Source = "ebpf"
	ebpfNetlinkEvents.Events = []string{"exec", "exit", "fork", "uid", "coredump"}
	everyEvent := documentedDefaults()
	everyEvent.Events = []string{"all"}

	tests := []struct {
		id       component.ID
		expected *Config
		// wantErrs are the lines of the validation error, in order.
		wantErrs []string
	}{
		{
			id:       component.NewID(metadata.Type),
			expected: documentedDefaults(),
		},
		{
			id: component.NewIDWithName(metadata.Type, "all_settings"),
			expected: &Config{
				Source:                "netlink",
				ProcRoot:              "/host/proc",
				ScanExistingProcesses: false,
				Workers:               4,
				QueueSize:             1024,
				ReceiveBufferBytes:    16777216,
				CollectionInterval:    30 * time.Second,
				Events:                []string{"exec", "exit", "fork", "uid"},
				MaxBatchSize:          100,
				FlushInterval:         time.Second,
				RetryOnFailure: configretry.BackOffConfig{
					Enabled: true, InitialInterval: time.Second, MaxInterval: 10 * time.Second,
					MaxElapsedTime: 0, Multiplier: 3, RandomizationFactor: 0,
				},
				ReaderPriority:       "high",
				CommandLine:          "full",
				RedactPatterns:       []string{`(?i)x-secret=(?P<secret>\S+)`},
				MaxCommandLineLength: 1024,
				MaxTrackedProcesses:  2048,
				Filter: filter.Config{
					Include:    &filter.MatchConfig{MatchType: "glob", Names: []string{"curl", "wget*"}},
					Exclude:    &filter.MatchConfig{UIDs: []uint32{0, 65534}},
					Containers: "host",
				},
				MetricsBuilderConfig: func() metadata.MetricsBuilderConfig {
					m := metadata.NewDefaultMetricsBuilderConfig()
					m.Metrics.ProcmonCallbacksExecuted.Enabled = false
					m.ResourceAttributes.ContainerID.Enabled = false
					return m
				}(),
			},
		},
		{
			id:       component.NewIDWithName(metadata.Type, "ebpf"),
			expected: ebpf,
		},
		{
			id:       component.NewIDWithName(metadata.Type, "ebpf_netlink_events"),
			expected: ebpfNetlinkEvents,
			wantErrs: []string{`events: uid, coredump come from the netlink source only; with source "ebpf", list exec, exit and fork`},
		},
		{
			id:       component.NewIDWithName(metadata.Type, "every_event"),
			expected: everyEvent,
		},
		{
			id: component.NewIDWithName(metadata.Type, "bad_values"),
			expected: func() *Config {
				c := documentedDefaults()
				c.Workers = -1
				c.QueueSize = 0
				c.Events = []string{"exec", "forks", "exec"}
				c.CollectionInterval = 0
				c.CommandLine = "masked"
				c.RedactPatterns = []string{"(?P<secret>"}
				c.MaxCommandLineLength = 15
				c.MaxTrackedProcesses = 1023
				c.RetryOnFailure.MaxInterval, c.RetryOnFailure.MaxElapsedTime = time.Minute, 10*time.Second
				c.Filter.Include = &filter.MatchConfig{MatchType: "fuzzy", Names: []string{"curl"}}
				return c
			}(),
			wantErrs: []string{
				"workers: -1 is out of range; use 0 (one per CPU) to 1024",
				"queue_size: must be positive, got 0",
				"collection_interval: must be positive, got 0s",
				`events: unknown event "forks"; use exec, exit, fork, comm, uid, gid, sid, ptrace, coredump or all`,
				`events: "exec" is listed twice`,
				`command_line: unknown mode "masked"; use full, redacted or none`,
				"redact_patterns[0]: error parsing regexp: missing closing ): `(?P<secret>`",
				"max_command_line_length: must be at least 16, got 15",
				"max_tracked_processes: 1023 is out of range; use 1024 to 4194304",
				"retry_on_failure: 'max_elapsed_time' must not be less than 'max_interval'",
				`filter::include::match_type: unknown match type "fuzzy"; use strict, regexp or glob`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg, err := loadEntry(t, cm, tt.id)
			require.NoError(t, err)
			requireSameConfig(t, tt.expected, cfg)
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
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, "all_settings").String())
	require.NoError(t, err)

	// A new option missing from all_settings would go unchecked by
	// TestLoadConfig; nested keys count by their top-level key.
	want := mapstructureKeys(reflect.TypeFor[Config]())
	got := map[string]bool{}
	for _, k := range sub.AllKeys() {
		top, _, _ := strings.Cut(k, confmap.KeyDelimiter)
		got[top] = true
	}
	require.ElementsMatch(t, want, keysOf(got))

	// The filter's own keys are all set too.
	fsub, err := sub.Sub("filter")
	require.NoError(t, err)
	require.ElementsMatch(t, mapstructureKeys(reflect.TypeFor[filter.Config]()), keysOf(topKeys(fsub.AllKeys())))
	isub, err := fsub.Sub("include")
	require.NoError(t, err)
	require.Subset(t, mapstructureKeys(reflect.TypeFor[filter.MatchConfig]()), isub.AllKeys())
}

// requireSameConfig compares two configurations: the metrics and resource
// attribute switches by their Enabled fields (mdatagen's types also record,
// unexported, whether the user set them), the rest whole.
func requireSameConfig(t *testing.T, want, got *Config) {
	t.Helper()
	require.Equal(t, switches(want.MetricsBuilderConfig), switches(got.MetricsBuilderConfig), "metrics and resource_attributes")
	w, g := *want, *got
	w.MetricsBuilderConfig, g.MetricsBuilderConfig = metadata.MetricsBuilderConfig{}, metadata.MetricsBuilderConfig{}
	require.Equal(t, &w, &g)
}

// switches maps each metric and resource attribute to its Enabled field.
func switches(m metadata.MetricsBuilderConfig) map[string]bool {
	out := map[string]bool{}
	for _, v := range []reflect.Value{reflect.ValueOf(m.Metrics), reflect.ValueOf(m.ResourceAttributes)} {
		for i := range v.NumField() {
			out[v.Type().Field(i).Name] = v.Field(i).FieldByName("Enabled").Bool()
		}
	}
	return out
}

// mapstructureKeys lists the mapstructure tags of typ's fields, those of
// squashed fields' own fields in their place.
func mapstructureKeys(typ reflect.Type) []string {
	var keys []string
	for i := range typ.NumField() {
		switch tag := typ.Field(i).Tag.Get("mapstructure"); tag {
		case "":
		case ",squash":
			keys = append(keys, mapstructureKeys(typ.Field(i).Type)...)
		default:
			keys = append(keys, tag)
		}
	}
	return keys
}

// topKeys maps each flattened key to its first part.
func topKeys(keys []string) map[string]bool {
	out := map[string]bool{}
	for _, k := range keys {
		top, _, _ := strings.Cut(k, confmap.KeyDelimiter)
		out[top] = true
	}
	return out
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestLoadConfigUnknownKey(t *testing.T) {
	for name, yaml := range map[string]string{
		"top level":     "procmon:\n  bogus: 1\n",
		"inside filter": "procmon:\n  filter:\n    bogus: 1\n",
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "config.yaml")
			require.NoError(t, os.WriteFile(file, []byte(yaml), 0o600))
			cm, err := confmaptest.LoadConf(file)
			require.NoError(t, err)

			_, err = loadEntry(t, cm, component.NewID(metadata.Type))
			require.ErrorContains(t, err, "bogus")
		})
	}
}

func TestLoadConfigWrongType(t *testing.T) {
	for key, yaml := range map[string]string{
		"workers":                 "procmon:\n  workers: many\n",
		"max_command_line_length": "procmon:\n  max_command_line_length: long\n",
		"uids":                    "procmon:\n  filter:\n    exclude:\n      uids: [root]\n",
	} {
		t.Run(key, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "config.yaml")
			require.NoError(t, os.WriteFile(file, []byte(yaml), 0o600))
			cm, err := confmaptest.LoadConf(file)
			require.NoError(t, err)

			_, err = loadEntry(t, cm, component.NewID(metadata.Type))
			require.ErrorContains(t, err, key)
		})
	}
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
			wantErr: `source: unknown source "kprobe"; use auto, ebpf or netlink`,
		},
		{
			name:    "empty source",
			mutate:  func(c *Config) { c.Source = "" },
			wantErr: `source: unknown source ""; use auto, ebpf or netlink`,
		},
		{
			name:    "ebpf with every event",
			mutate:  func(c *Config) { c.Source = "ebpf"; c.Events = []string{"all"} },
			wantErr: `events: comm, uid, gid, sid, ptrace, coredump come from the netlink source only; with source "ebpf", list exec, exit and fork`,
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
			wantErr: "events: must list at least one of exec, exit, fork, comm, uid, gid, sid, ptrace, coredump or all",
		},
		{
			name:    "nil events",
			mutate:  func(c *Config) { c.Events = nil },
			wantErr: "events: must list at least one of exec, exit, fork, comm, uid, gid, sid, ptrace, coredump or all",
		},
		{
			name:    "unknown event forks",
			mutate:  func(c *Config) { c.Events = []string{"exec", "forks"} },
			wantErr: `events: unknown event "forks"; use exec, exit, fork, comm, uid, gid, sid, ptrace, coredump or all`,
		},
		{
			name:    "event names are case sensitive",
			mutate:  func(c *Config) { c.Events = []string{"Exec"} },
			wantErr: `events: unknown event "Exec"; use exec, exit, fork, comm, uid, gid, sid, ptrace, coredump or all`,
		},
		{
			name:    "duplicate event",
			mutate:  func(c *Config) { c.Events = []string{"exec", "exit", "exec"} },
			wantErr: `events: "exec" is listed twice`,
		},
		{
			name:    "duplicate other event",
			mutate:  func(c *Config) { c.Events = []string{"fork", "uid", "fork"} },
			wantErr: `events: "fork" is listed twice`,
		},
		{
			name:    "unknown command_line mode",
			mutate:  func(c *Config) { c.CommandLine = "masked" },
			wantErr: `command_line: unknown mode "masked"; use full, redacted or none`,
		},
		{
			name:    "command_line modes are case sensitive",
			mutate:  func(c *Config) { c.CommandLine = "Full" },
			wantErr: `command_line: unknown mode "Full"; use full, redacted or none`,
		},
		{
			name:    "bad redact pattern",
			mutate:  func(c *Config) { c.RedactPatterns = []string{"("} },
			wantErr: "redact_patterns[0]: error parsing regexp: missing closing ): `(`",
		},
		{
			name:    "second redact pattern bad",
			mutate:  func(c *Config) { c.RedactPatterns = []string{"token=\\S+", "[z-a]"} },
			wantErr: "redact_patterns[1]: error parsing regexp: invalid character class range: `z-a`",
		},
		{
			name:    "max_command_line_length 15",
			mutate:  func(c *Config) { c.MaxCommandLineLength = 15 },
			wantErr: "max_command_line_length: must be at least 16, got 15",
		},
		{
			name:    "max_command_line_length 0",
			mutate:  func(c *Config) { c.MaxCommandLineLength = 0 },
			wantErr: "max_command_line_length: must be at least 16, got 0",
		},
		{
			name:    "max_tracked_processes 1023",
			mutate:  func(c *Config) { c.MaxTrackedProcesses = 1023 },
			wantErr: "max_tracked_processes: 1023 is out of range; use 1024 to 4194304",
		},
		{
			name:    "max_tracked_processes 1<<22+1",
			mutate:  func(c *Config) { c.MaxTrackedProcesses = 1<<22 + 1 },
			wantErr: "max_tracked_processes: 4194305 is out of range; use 1024 to 4194304",
		},
		{
			name: "filter match_type",
			mutate: func(c *Config) {
				c.Filter.Include = &filter.MatchConfig{MatchType: "fuzzy", Names: []string{"curl"}}
			},
			wantErr: `filter::include::match_type: unknown match type "fuzzy"; use strict, regexp or glob`,
		},
		{
			name: "filter containers",
			mutate: func(c *Config) {
				c.Filter.Containers = "pods"
			},
			wantErr: `filter::containers: unknown mode "pods"; use any, host or containers`,
		},
		{
			name: "filter empty exclude",
			mutate: func(c *Config) {
				c.Filter.Exclude = &filter.MatchConfig{}
			},
			wantErr: "filter::exclude: lists no names, paths or uids",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needs64 && strconv.IntSize < 64 {
				t.Skip("int cannot hold 1<<31 here")
			}
			cfg := createDefaultConfig()
			tt.mutate(cfg)
			// As the collector validates: its own keys, and the filter's.
			require.EqualError(t, confmap.Validate(cfg), tt.wantErr)
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
		{"all", func(c *Config) { c.Events = []string{"all"} }},
		{"all beside the others", func(c *Config) { c.Events = []string{"exec", "all", "fork"} }},
		{"every other event", func(c *Config) {
			c.Events = []string{"fork", "comm", "uid", "gid", "sid", "ptrace", "coredump"}
		}},
		{"command_line full", func(c *Config) { c.CommandLine = "full" }},
		{"command_line none", func(c *Config) { c.CommandLine = "none" }},
		{"command_line empty means redacted", func(c *Config) { c.CommandLine = "" }},
		{"redact pattern with a secret group", func(c *Config) {
			c.RedactPatterns = []string{`(?i)x-secret=(?P<secret>\S+)`}
		}},
		{"max_command_line_length 16", func(c *Config) { c.MaxCommandLineLength = 16 }},
		{"max_tracked_processes 1024", func(c *Config) { c.MaxTrackedProcesses = 1024 }},
		{"max_tracked_processes 1<<22", func(c *Config) { c.MaxTrackedProcesses = 1 << 22 }},
		{"filter with every key", func(c *Config) {
			c.Filter = filter.Config{
				Include:    &filter.MatchConfig{MatchType: "regexp", Names: []string{"^curl$"}, Paths: []string{"^/usr/"}},
				Exclude:    &filter.MatchConfig{UIDs: []uint32{0}},
				Containers: "containers",
			}
		}},
		{"filter containers empty means any", func(c *Config) { c.Filter.Containers = "" }},
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
			require.NoError(t, confmap.Validate(cfg))
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
	cfg.Events = []string{"forks", "exit", "exit"}
	cfg.CommandLine = "some"
	cfg.RedactPatterns = []string{"ok", "("}
	cfg.MaxCommandLineLength = 8
	cfg.MaxTrackedProcesses = 1<<22 + 1

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
		`source: unknown source "kprobe"; use auto, ebpf or netlink`,
		"proc_root: must not be empty",
		"workers: 2000 is out of range; use 0 (one per CPU) to 1024",
		"queue_size: must be positive, got -5",
		"receive_buffer_bytes: -1 is out of range; use 0 (kernel default) to 1073741824",
		"collection_interval: must be positive, got 0s",
		"max_batch_size: must be positive, got 0",
		"flush_interval: must be positive, got -1ms",
		`reader_priority: unknown priority "idle"; use realtime, high or normal`,
		`events: unknown event "forks"; use exec, exit, fork, comm, uid, gid, sid, ptrace, coredump or all`,
		`events: "exit" is listed twice`,
		`command_line: unknown mode "some"; use full, redacted or none`,
		"redact_patterns[1]: error parsing regexp: missing closing ): `(`",
		"max_command_line_length: must be at least 16, got 8",
		"max_tracked_processes: 4194305 is out of range; use 1024 to 4194304",
	}, msgs)
}

// TestFilterErrorReportedOnceThroughConfmap validates as the collector does:
// confmap.Validate walks every field, and the filter's types validate
// themselves, so each error is reported once, under its key.
func TestFilterErrorReportedOnceThroughConfmap(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Filter.Include = &filter.MatchConfig{MatchType: "fuzzy", Names: []string{"curl"}}
	cfg.Filter.Exclude = &filter.MatchConfig{MatchType: "regexp", Names: []string{"("}}

	err := confmap.Validate(cfg)
	require.Error(t, err)
	msg := err.Error()
	const want = `filter::include::match_type: unknown match type "fuzzy"; use strict, regexp or glob`
	require.Equal(t, 1, strings.Count(msg, want), msg)
	require.Equal(t, 1, strings.Count(msg, "filter::exclude: names[0]: "), msg)
	for _, line := range strings.Split(msg, "\n") {
		require.False(t, strings.HasPrefix(line, "filter: "), "a line with a doubled prefix: %q", line)
	}
	require.Equal(t, []string{
		want,
		"filter::exclude: names[0]: error parsing regexp: missing closing ): `(`",
	}, strings.Split(msg, "\n"))
}

func TestWants(t *testing.T) {
	tests := []struct {
		events []string
		want   map[string]bool
	}{
		{[]string{"exec", "exit"}, map[string]bool{"exec": true, "exit": true, "fork": false, "uid": false}},
		{[]string{"exit"}, map[string]bool{"exec": false, "exit": true}},
		{[]string{"fork"}, map[string]bool{"exec": false, "exit": false, "fork": true, "comm": false}},
		{[]string{"all"}, map[string]bool{
			"exec": true, "exit": true, "fork": true, "comm": true, "uid": true,
			"gid": true, "sid": true, "ptrace": true, "coredump": true,
		}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.events, ","), func(t *testing.T) {
			cfg := createDefaultConfig()
			cfg.Events = tt.events
			for name, want := range tt.want {
				require.Equal(t, want, cfg.wants(name), name)
			}
		})
	}
}

func TestOtherKinds(t *testing.T) {
	tests := []struct {
		name   string
		events []string
		want   map[procevent.Kind]bool
	}{
		{"default", []string{"exec", "exit"}, map[procevent.Kind]bool{}},
		{"fork and uid", []string{"exec", "exit", "fork", "uid"}, map[procevent.Kind]bool{procevent.KindFork: true, procevent.KindUID: true}},
		{"coredump only", []string{"coredump"}, map[procevent.Kind]bool{procevent.KindCoredump: true}},
		{"all", []string{"all"}, map[procevent.Kind]bool{
			procevent.KindFork: true, procevent.KindComm: true, procevent.KindUID: true, procevent.KindGID: true,
			procevent.KindSID: true, procevent.KindPtrace: true, procevent.KindCoredump: true,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig()
			cfg.Events = tt.events
			got := cfg.otherKinds()
			require.Equal(t, tt.want, got)
			// exec and exit have their own subscriptions; none is other.
			require.False(t, got[procevent.KindExec])
			require.False(t, got[procevent.KindExit])
		})
	}
}

func TestOtherEventsNameTheirKinds(t *testing.T) {
	// Every configuration name is the kind's own name, which the record's
	// event name and the metrics' procmon.event.type use too.
	for name, k := range otherEvents {
		require.Equal(t, name, k.String())
	}
	var kinds []procevent.Kind
	for _, k := range procevent.Kinds() {
		if k != procevent.KindExec && k != procevent.KindExit {
			kinds = append(kinds, k)
		}
	}
	require.Len(t, otherEvents, len(kinds), "every other kernel event can be configured")
}
