package procmonreceiver

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"

	"github.com/procmon-otel/procmon/internal/filter"
	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/internal/procmon"
	"github.com/procmon-otel/procmon/internal/redact"
	"github.com/procmon-otel/procmon/receiver/procmonreceiver/internal/metadata"
)

// Source names.
const (
	sourceAuto    = "auto"
	sourceNetlink = "netlink"
	sourceEBPF    = "ebpf"
)

// Event names accepted in the events list: exec, exit, the kernel's other
// process events, and all.
const (
	eventExec = "exec"
	eventExit = "exit"
	eventAll  = "all"
)

// otherEvents are the opt-in kernel events, by configuration name.
var otherEvents = map[string]procevent.Kind{
	"fork": procevent.KindFork, "comm": procevent.KindComm, "uid": procevent.KindUID, "gid": procevent.KindGID,
	"sid": procevent.KindSID, "ptrace": procevent.KindPtrace, "coredump": procevent.KindCoredump,
}

// Reader priorities.
const (
	priorityRealtime = "realtime"
	priorityHigh     = "high"
	priorityNormal   = "normal"
)

// maxReceiveBuffer bounds receive_buffer_bytes: the kernel takes an int and
// doubles it.
const maxReceiveBuffer = 1 << 30

// Config is the procmon receiver's configuration.
type Config struct {
	// Source is where process events come from: "ebpf" (BPF programs on the
	// kernel's process tracepoints, which capture what each process ran as it
	// ran it), "netlink" (the kernel's proc connector, with the details read
	// from /proc), or "auto": eBPF where the kernel and the collector's
	// privileges allow it and the events configured are ones it reports,
	// netlink otherwise. Default "auto".
	Source string `mapstructure:"source"`
	// ProcRoot is where the host's /proc is mounted: "/proc", or "/host/proc"
	// when the collector runs in a container. Default "/proc".
	ProcRoot string `mapstructure:"proc_root"`
	// ScanExistingProcesses reports the processes already running at start
	// as exec records marked procmon.initial_scan. Default true.
	ScanExistingProcesses bool `mapstructure:"scan_existing_processes"`
	// Workers is the number of callback workers; 0 means one per CPU.
	// Default 0.
	Workers int `mapstructure:"workers"`
	// QueueSize is how many events each worker can hold; beyond it events are
	// dropped and counted. Default 4096.
	QueueSize int `mapstructure:"queue_size"`
	// ReceiveBufferBytes is the kernel's buffer of events for procmon: the
	// eBPF ring buffer (rounded up to a power of two; 0 means 8 MiB), or the
	// netlink socket's receive buffer (0 keeps the kernel's default).
	// Default 8 MiB.
	ReceiveBufferBytes int `mapstructure:"receive_buffer_bytes"`
	// CollectionInterval is how often the counters are emitted as metrics.
	// Default 10s.
	CollectionInterval time.Duration `mapstructure:"collection_interval"`
	// Events lists the events to report as log records. Default [exec, exit].
	Events []string `mapstructure:"events"`
	// MaxBatchSize is the most records sent in one call to the next consumer.
	// Default 512.
	MaxBatchSize int `mapstructure:"max_batch_size"`
	// FlushInterval is the longest a record waits for its batch to fill, and
	// with the eBPF source also the longest it waits in the kernel's ring
	// buffer before the reader is woken for it. Default 25ms: short, so that
	// a record reaches the pipeline within milliseconds; a storm fills
	// batches by size long before.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// RetryOnFailure says how a batch that the next consumer refuses for now
	// (a memory_limiter over its limit, a full exporter queue) is held and
	// sent again; see deliver.go. Default: after 50ms, doubling up to 5s, for
	// at most 30s; max_elapsed_time 0 holds it until it is taken or the
	// receiver shuts down; enabled: false sends each batch once.
	RetryOnFailure configretry.BackOffConfig `mapstructure:"retry_on_failure"`
	// ReaderPriority is, with the netlink source, the scheduling priority of
	// the thread that reads the kernel's events and, at each exec, the
	// process's /proc entry before a short-lived process is gone: "realtime"
	// (SCHED_FIFO 1), "high" (nice -20) or "normal". Without CAP_SYS_NICE it
	// falls back, and says so once. The eBPF source needs no race against
	// /proc and leaves its reader alone. Default "realtime".
	ReaderPriority string `mapstructure:"reader_priority"`
	// CommandLine is what records say of command lines: "redacted" (values
	// that look like secrets replaced by ***), "full" or "none". Default
	// "redacted".
	CommandLine string `mapstructure:"command_line"`
	// RedactPatterns are extra regular expressions whose matches in
	// arguments are replaced by *** (only a group named "secret", if the
	// pattern has one). Default none.
	RedactPatterns []string `mapstructure:"redact_patterns"`
	// MaxCommandLineLength bounds, in bytes, process.command and the
	// arguments of process.command_args together (separators not counted);
	// longer ones are cut and marked procmon.truncated. Default 4096.
	MaxCommandLineLength int `mapstructure:"max_command_line_length"`
	// MaxTrackedProcesses bounds the table of live processes that lets exit
	// records say what exited; beyond it the oldest are evicted and counted.
	// Default 65536.
	MaxTrackedProcesses int `mapstructure:"max_tracked_processes"`
	// Filter selects the processes reported, by executable, user and
	// container. Default: every process.
	Filter filter.Config `mapstructure:"filter"`
	// MetricsBuilderConfig switches each metric (metrics:) and resource
	// attribute (resource_attributes:) on or off; see documentation.md.
	metadata.MetricsBuilderConfig `mapstructure:",squash"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// The collector validates a configuration with a recursive pass that calls
// every Validate method it finds and names the key of each error: the
// receiver's, and those of the filter's types below it.
var (
	_ confmap.Validator = (*Config)(nil)
	_ confmap.Validator = filter.ContainerMode("")
	_ confmap.Validator = filter.MatchType("")
	_ confmap.Validator = (*filter.MatchConfig)(nil)
)

func createDefaultConfig() *Config {
	return &Config{
		Source:                sourceAuto,
		ProcRoot:              procmon.DefaultProcRoot,
		ScanExistingProcesses: true,
		QueueSize:             procmon.DefaultQueueSize,
		ReceiveBufferBytes:    8 << 20,
		CollectionInterval:    10 * time.Second,
		Events:                []string{eventExec, eventExit},
		MaxBatchSize:          512,
		FlushInterval:         25 * time.Millisecond,
		RetryOnFailure:        defaultRetry(),
		ReaderPriority:        priorityRealtime,
		CommandLine:           string(redact.ModeRedacted),
		MaxCommandLineLength:  4096,
		MaxTrackedProcesses:   procmon.DefaultMaxTracked,
		Filter:                filter.Config{Containers: filter.AnyContainer},
		MetricsBuilderConfig:  metadata.NewDefaultMetricsBuilderConfig(),
	}
}

// Validate checks the values; it does no I/O (proc_root is checked at start).
func (cfg *Config) Validate() error {
	var errs []error
	switch cfg.Source {
	case sourceAuto, sourceNetlink:
	case sourceEBPF:
		if only := cfg.netlinkOnlyEvents(); len(only) > 0 {
			errs = append(errs, fmt.Errorf(`events: %s come from the netlink source only; with source "ebpf", list exec, exit and fork`,
				strings.Join(only, ", ")))
		}
	default:
		errs = append(errs, fmt.Errorf(`source: unknown source %q; use auto, ebpf or netlink`, cfg.Source))
	}
	if cfg.ProcRoot == "" {
		errs = append(errs, errors.New("proc_root: must not be empty"))
	}
	if cfg.Workers < 0 || cfg.Workers > 1024 {
		errs = append(errs, fmt.Errorf("workers: %d is out of range; use 0 (one per CPU) to 1024", cfg.Workers))
	}
	if cfg.QueueSize <= 0 {
		errs = append(errs, fmt.Errorf("queue_size: must be positive, got %d", cfg.QueueSize))
	}
	if cfg.ReceiveBufferBytes < 0 || cfg.ReceiveBufferBytes > maxReceiveBuffer {
		errs = append(errs, fmt.Errorf("receive_buffer_bytes: %d is out of range; use 0 (kernel default) to %d", cfg.ReceiveBufferBytes, maxReceiveBuffer))
	}
	if cfg.CollectionInterval <= 0 {
		errs = append(errs, fmt.Errorf("collection_interval: must be positive, got %s", cfg.CollectionInterval))
	}
	if cfg.MaxBatchSize <= 0 {
		errs = append(errs, fmt.Errorf("max_batch_size: must be positive, got %d", cfg.MaxBatchSize))
	}
	if cfg.FlushInterval <= 0 {
		errs = append(errs, fmt.Errorf("flush_interval: must be positive, got %s", cfg.FlushInterval))
	}
	switch cfg.ReaderPriority {
	case priorityRealtime, priorityHigh, priorityNormal:
	default:
		errs = append(errs, fmt.Errorf("reader_priority: unknown priority %q; use realtime, high or normal", cfg.ReaderPriority))
	}
	if len(cfg.Events) == 0 {
		errs = append(errs, errors.New("events: must list at least one of exec, exit, fork, comm, uid, gid, sid, ptrace, coredump or all"))
	}
	for i, ev := range cfg.Events {
		_, other := otherEvents[ev]
		switch {
		case ev != eventExec && ev != eventExit && ev != eventAll && !other:
			errs = append(errs, fmt.Errorf("events: unknown event %q; use exec, exit, fork, comm, uid, gid, sid, ptrace, coredump or all", ev))
		case slices.Index(cfg.Events, ev) != i:
			errs = append(errs, fmt.Errorf("events: %q is listed twice", ev))
		}
	}
	if _, err := redact.ParseMode(cfg.CommandLine); err != nil {
		errs = append(errs, err)
	}
	if _, err := redact.New(cfg.RedactPatterns); err != nil {
		errs = append(errs, err)
	}
	if cfg.MaxCommandLineLength < 16 {
		errs = append(errs, fmt.Errorf("max_command_line_length: must be at least 16, got %d", cfg.MaxCommandLineLength))
	}
	if cfg.MaxTrackedProcesses < 1024 || cfg.MaxTrackedProcesses > 1<<22 {
		errs = append(errs, fmt.Errorf("max_tracked_processes: %d is out of range; use 1024 to %d", cfg.MaxTrackedProcesses, 1<<22))
	}
	return errors.Join(errs...)
}

// wants reports whether the event name is enabled.
func (cfg *Config) wants(event string) bool {
	return slices.Contains(cfg.Events, event) || slices.Contains(cfg.Events, eventAll)
}

// netlinkOnly are the events only the netlink source reports: the eBPF source
// hooks exec, fork and exit only.
var netlinkOnly = []string{"comm", "uid", "gid", "sid", "ptrace", "coredump"}

// netlinkOnlyEvents returns the events configured that only the netlink
// source reports.
func (cfg *Config) netlinkOnlyEvents() []string {
	var only []string
	for _, name := range netlinkOnly {
		if cfg.wants(name) {
			only = append(only, name)
		}
	}
	return only
}

// otherKinds returns the opt-in kernel events enabled.
func (cfg *Config) otherKinds() map[procevent.Kind]bool {
	kinds := map[procevent.Kind]bool{}
	for name, k := range otherEvents {
		if cfg.wants(name) {
			kinds[k] = true
		}
	}
	return kinds
}
