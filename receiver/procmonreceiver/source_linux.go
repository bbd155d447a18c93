package procmonreceiver

import (
	"go.uber.org/zap"

	"github.com/procmon-otel/procmon/internal/kernel"
	"github.com/procmon-otel/procmon/internal/netlinksource"
	"github.com/procmon-otel/procmon/internal/procmon"
)

// newOpener returns the opener of the configured event source.
func newOpener(cfg *Config) (procmon.Opener, error) {
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
