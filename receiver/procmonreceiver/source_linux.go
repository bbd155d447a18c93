package procmonreceiver

import (
	"go.uber.org/zap"

	"github.com/procmon-otel/procmon/internal/kernel"
	"github.com/procmon-otel/procmon/internal/netlinksource"
	"github.com/procmon-otel/procmon/internal/procevent"
)

// newOpener returns the opener of the configured event source.
func newOpener(cfg *Config) (procevent.Opener, error) {
	return netlinksource.NewOpener(netlinksource.Config{
		ProcRoot:      cfg.ProcRoot,
		ReceiveBuffer: cfg.ReceiveBufferBytes,
	}), nil
}

// readerSetup returns what the monitor runs on its reader thread: raise the
// thread's priority as configured, and say once if the kernel refused.
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

// capabilityCosts says what each capability procmon uses is for, and what
// its absence costs.
var capabilityCosts = []struct {
	bit  uint
	name string
	cost string
}{
	{kernel.CapSysPtrace, "CAP_SYS_PTRACE", "other users' executables and working directories cannot be read"},
	{kernel.CapSysNice, "CAP_SYS_NICE", "the reader thread cannot be given a raised priority, so more short-lived processes go unnamed"},
	{kernel.CapSysAdmin, "CAP_SYS_ADMIN", "the root network namespace cannot be entered from another one"},
	{kernel.CapNetAdmin, "CAP_NET_ADMIN", "kernels before 6.6 refuse the subscription, and the receive buffer is capped at net.core.rmem_max"},
}

// logMissingCapabilities says once, at start, which capabilities procmon
// lacks and what each costs.
func logMissingCapabilities(logger *zap.Logger) {
	caps, err := kernel.EffectiveCaps()
	if err != nil {
		logger.Warn("procmon cannot tell its capabilities", zap.Error(err))
		return
	}
	var missing []string
	for _, c := range capabilityCosts {
		if caps&(1<<c.bit) == 0 {
			missing = append(missing, c.name+": "+c.cost)
		}
	}
	if len(missing) > 0 {
		logger.Warn("procmon runs without some capabilities", zap.Strings("missing", missing))
	}
}
