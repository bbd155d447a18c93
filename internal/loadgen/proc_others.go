//go:build !unix

package loadgen

import "errors"

var errNoFork = errors.New("process storms need fork and exec, which only unix systems have")

func startProgram([]string) (int, error) { return 0, errNoFork }

func reap(int) error { return errNoFork }
