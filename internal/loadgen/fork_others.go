//go:build !linux

package loadgen

import "errors"

// forkExit is only written for Linux.
func forkExit() (int, error) {
	return 0, errors.New("fork storms are only supported on linux")
}
