package kernel

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Priority is a scheduling class for one thread.
type Priority int

// The priorities a thread can ask for, lowest first.
const (
	// PriorityNormal leaves the thread as it is.
	PriorityNormal Priority = iota
	// PriorityHigh is nice -20 for the thread.
	PriorityHigh
	// PriorityRealtime is SCHED_FIFO at priority 1, the lowest real-time one:
	// above every normal thread, below every other real-time one.
	PriorityRealtime
)

// String names the priority as the configuration does.
func (p Priority) String() string {
	switch p {
	case PriorityHigh:
		return "high"
	case PriorityRealtime:
		return "realtime"
	}
	return "normal"
}

// RaiseThreadPriority gives the calling OS thread priority want, or the
// highest below it that the kernel allows (CAP_SYS_NICE is needed above
// normal). It returns what the thread got and, when that is less than
// wanted, why. The caller must have locked its goroutine to the thread.
func RaiseThreadPriority(want Priority) (Priority, error) {
	var refused error
	if want >= PriorityRealtime {
		attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: 1}
		err := unix.SchedSetAttr(0, &attr, 0)
		if err == nil {
			return PriorityRealtime, nil
		}
		refused = fmt.Errorf("SCHED_FIFO refused: %w", err)
	}
	if want >= PriorityHigh {
		// With a thread id, setpriority changes that thread only.
		err := unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), -20)
		if err == nil {
			return PriorityHigh, refused
		}
		return PriorityNormal, errors.Join(refused, fmt.Errorf("nice -20 refused: %w", err))
	}
	return PriorityNormal, nil
}
