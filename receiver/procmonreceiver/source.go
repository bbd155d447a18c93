package procmonreceiver

import (
	"go.uber.org/zap"

	"github.com/procmon-otel/procmon/internal/procevent"
)

// eventSource is where a receiver's events come from, as chooseSource picks
// it at Start.
type eventSource struct {
	// name is the source in use ("ebpf" or "netlink"), for the logs, the
	// metrics' procmon.source and ObsReport's transport.
	name string
	// why says why source: auto chose it; empty when the config named it.
	why string
	// notEBPF is why source: auto could not take the eBPF source, when it
	// fell back to netlink for that reason: Start's error then names both.
	notEBPF error
	open    procevent.Opener
	// readerSetup runs on the reader's thread before its first event; nil
	// for none.
	readerSetup func()
	// release closes a source that chooseSource opened to try it, if open
	// never handed it out; nil when there is none.
	release func()
}

// sourceFunc picks the event source of a Config; tests replace it.
type sourceFunc func(cfg *Config, logger *zap.Logger) (eventSource, error)
