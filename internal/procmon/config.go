package procmon

import (
	"runtime"
	"time"

	"go.uber.org/zap"

	"github.com/procmon-otel/procmon/internal/procevent"
)

// kthreadd is the pid of the kernel's thread creator, parent of every other
// kernel thread.
const kthreadd = 2

// userHZ is the kernel's USER_HZ, the unit of start times in /proc/<pid>/stat;
// it is 100 in the ABI of every architecture Linux supports.
const userHZ = 100

// Defaults of the Config fields a receiver exposes too; its default
// configuration uses these, so that each default has one home.
const (
	DefaultProcRoot   = "/proc"
	DefaultQueueSize  = 4096
	DefaultMaxTracked = 65536
)

// Config configures a Monitor. Zero values take the defaults noted.
type Config struct {
	// Open opens the event source. Required.
	Open procevent.Opener
	// ProcRoot is where the proc filesystem is mounted. Default /proc.
	ProcRoot string
	// ScanExisting reports the processes already running at Initialize to the
	// exec subscribers.
	ScanExisting bool
	// Workers is the number of callback workers. Default runtime.NumCPU().
	Workers int
	// QueueSize is the capacity of each worker's queue. Default 4096.
	QueueSize int
	// RestartBackoff is the first wait before re-opening a failed source; it
	// doubles after each failed attempt up to MaxRestartBackoff. Defaults
	// 100ms and 30s.
	RestartBackoff, MaxRestartBackoff time.Duration
	// MaxTracked bounds the pid table; beyond it the oldest entries are
	// evicted and counted. Default 65536.
	MaxTracked int
	// StatsInterval is how often the monitor logs its counters, re-measures
	// its clock and sweeps its pid table. Default 2 minutes.
	StatsInterval time.Duration
	// Logger receives the monitor's logs. Default: none.
	Logger *zap.Logger
	// DrainTimeout bounds how long Stop lets the workers deliver the events
	// still queued; what is left then is dropped and counted. Default 500ms.
	DrainTimeout time.Duration
	// RestartOnOverrun re-opens the source after a receive buffer overrun
	// instead of carrying on with it. Off by default: the kernel's sequence
	// numbers count the loss exactly either way, and carrying on loses less
	// (see BenchmarkOverrunStrategy in internal/netlinksource).
	RestartOnOverrun bool
	// SourceState, when set, is told from the main loop when the source
	// fails (with the error) and when it runs again after a failure (nil):
	// the place to report the component's health.
	SourceState func(err error)
	// ReaderSetup, when set, runs on the main loop's goroutine after it was
	// locked to its own OS thread, before the first event is read: the place
	// to raise that thread's priority. The thread is never given back to the
	// runtime, so what is done to it affects no other goroutine.
	ReaderSetup func()
}

func (c Config) withDefaults() Config {
	if c.ProcRoot == "" {
		c.ProcRoot = DefaultProcRoot
	}
	if c.Workers <= 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.RestartBackoff <= 0 {
		c.RestartBackoff = 100 * time.Millisecond
	}
	if c.MaxRestartBackoff < c.RestartBackoff {
		c.MaxRestartBackoff = max(30*time.Second, c.RestartBackoff)
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 500 * time.Millisecond
	}
	if c.MaxTracked <= 0 {
		c.MaxTracked = DefaultMaxTracked
	}
	if c.StatsInterval <= 0 {
		c.StatsInterval = 2 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return c
}
