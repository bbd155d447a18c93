package procmonreceiver

import (
	"fmt"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/procmon-otel/procmon/internal/ebpfsource"
	"github.com/procmon-otel/procmon/internal/kernel"
	"github.com/procmon-otel/procmon/internal/netlinksource"
	"github.com/procmon-otel/procmon/internal/procevent"
)

// platformError is nil: procmon runs on Linux.
var platformError error

// chooseSource is the one place where cfg.Source becomes a source. "auto"
// takes the eBPF source when the configured events allow it and it opens
// (kernel BTF, ring buffers, the tracepoints, and CAP_BPF with CAP_PERFMON or
// CAP_SYS_ADMIN); otherwise the netlink source, saying why.
func chooseSource(cfg *Config, logger *zap.Logger) (eventSource, error) {
	netlink := eventSource{
		name: sourceNetlink,
		open: netlinksource.NewOpener(netlinksource.Config{
			ProcRoot:      cfg.ProcRoot,
			ReceiveBuffer: cfg.ReceiveBufferBytes,
		}),
		readerSetup: readerSetup(cfg, logger),
	}
	ebpf := eventSource{name: sourceEBPF, open: ebpfsource.NewOpener(ebpfsource.Config{
		RingBufferBytes: cfg.ReceiveBufferBytes,
		// Twice the bound: the record's builder cuts the arguments to
		// max_command_line_length not counting their separators, and must
		// find as much of them as it would in /proc.
		MaxArgsBytes: 2 * cfg.MaxCommandLineLength,
		// Records wait at most this long in the ring buffer, then at most
		// as long in their batch. Each wake-up of the reader costs about as
		// much as the records it brings: at 230 execs/s, 4ms took 16% of a
		// core and 25ms 9.4%, with a p99 from kernel to sink of 36 and 59 ms
		// (docs/benchmarks.md).
		WakeupInterval: cfg.FlushInterval,
	})}
	switch cfg.Source {
	case sourceNetlink:
		return netlink, nil
	case sourceEBPF:
		return ebpf, nil
	}
	if only := cfg.netlinkOnlyEvents(); len(only) > 0 {
		netlink.why = fmt.Sprintf("the events %s come from the netlink source only", strings.Join(only, ", "))
		return netlink, nil
	}
	src, err := ebpf.open()
	if err != nil {
		netlink.why = "the eBPF source cannot run here: " + err.Error()
		netlink.notEBPF = err
		return netlink, nil
	}
	ebpf.why = "the kernel and the collector's privileges allow it"
	ebpf.open, ebpf.release = openedFirst(src, ebpf.open)
	return ebpf, nil
}

// openedFirst returns an Opener that hands out src, already open, first, and
// then opens with open; and a release that closes src unless it was handed
// out.
func openedFirst(src procevent.Source, open procevent.Opener) (procevent.Opener, func()) {
	var (
		mu     sync.Mutex
		handed bool
	)
	take := func() bool {
		mu.Lock()
		defer mu.Unlock()
		first := !handed
		handed = true
		return first
	}
	opener := func() (procevent.Source, error) {
		if take() {
			return src, nil
		}
		return open()
	}
	release := func() {
		if take() {
			_ = src.Close()
		}
	}
	return opener, release
}

// readerSetup returns what the monitor runs on the netlink source's reader
// thread: raise the thread's priority as configured, and say once if the
// kernel refused.
func readerSetup(cfg *Config, logger *zap.Logger) func() {
	want := kernel.PriorityNormal
	switch cfg.ReaderPriority {
	case priorityRealtime:
		want = kernel.PriorityRealtime
	case priorityHigh:
		want = kernel.PriorityHigh
	}
	return func() {
		got, err := kernel.RaiseThreadPriority(want)
		if got < want {
			logger.Warn("procmon's reader thread runs below the configured reader_priority (raising it needs CAP_SYS_NICE); "+
				"processes that exit within a millisecond of their exec are more likely to be reported without their executable",
				zap.String("reader_priority", cfg.ReaderPriority), zap.String("got", got.String()), zap.Error(err))
		}
	}
}

// capabilityCost says what a capability procmon uses is for, and what its
// absence costs, with the source it matters to ("" for both).
type capabilityCost struct {
	bits   []uint // any one of them is enough
	name   string
	source string
	cost   string
}

var capabilityCosts = []capabilityCost{
	{[]uint{kernel.CapSysPtrace}, "CAP_SYS_PTRACE", "", "other users' executables and working directories cannot be read from /proc"},
	{[]uint{kernel.CapSysNice}, "CAP_SYS_NICE", sourceNetlink, "the reader thread cannot be given a raised priority, so more short-lived processes go unnamed"},
	{[]uint{kernel.CapSysAdmin}, "CAP_SYS_ADMIN", sourceNetlink, "the root network namespace cannot be entered from another one"},
	{[]uint{kernel.CapNetAdmin}, "CAP_NET_ADMIN", sourceNetlink, "the receive buffer is capped at net.core.rmem_max"},
}

// logMissingCapabilities says once, at start, which capabilities the source
// in use lacks and what each costs.
func logMissingCapabilities(logger *zap.Logger, source string) {
	caps, err := kernel.EffectiveCaps()
	if err != nil {
		logger.Warn("procmon cannot tell its capabilities", zap.Error(err))
		return
	}
	var missing []string
	for _, c := range capabilityCosts {
		if c.source != "" && c.source != source {
			continue
		}
		has := false
		for _, b := range c.bits {
			has = has || caps&(1<<b) != 0
		}
		if !has {
			missing = append(missing, c.name+": "+c.cost)
		}
	}
	if len(missing) > 0 {
		logger.Warn("procmon runs without some capabilities", zap.Strings("missing", missing))
	}
}
