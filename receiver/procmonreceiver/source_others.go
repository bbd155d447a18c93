//go:build !linux

package procmonreceiver

import (
	"errors"

	"go.uber.org/zap"

	"github.com/procmon-otel/procmon/internal/procevent"
)

// newOpener fails: process events come from the Linux kernel.
func newOpener(*Config) (procevent.Opener, error) {
	return nil, errors.New("procmon receiver is only supported on linux")
}

// readerSetup does nothing where procmon does not run.
func readerSetup(*Config, *zap.Logger) func() { return nil }

// logMissingCapabilities does nothing where procmon does not run.
func logMissingCapabilities(*zap.Logger) {}
