//go:build !linux

package procmonreceiver

import (
	"errors"

	"go.uber.org/zap"
)

// platformError is why the receiver cannot be created here.
var platformError = errors.New("procmon receiver is only supported on linux")

// chooseSource fails: process events come from the Linux kernel.
func chooseSource(*Config, *zap.Logger) (eventSource, error) {
	return eventSource{}, platformError
}

// logMissingCapabilities does nothing where procmon does not run.
func logMissingCapabilities(*zap.Logger, string) {}
