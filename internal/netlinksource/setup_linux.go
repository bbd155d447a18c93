package netlinksource

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Setup failures, each one sentence that names what is missing and what to
// set; errors.Is tells them apart, and setupError says which step gives which.
// docs/privileges.md lists them with the tests that produce them.
var (
	ErrNoConnector = errors.New("this kernel has no proc connector (CONFIG_CONNECTOR and CONFIG_PROC_EVENTS): " +
		"use source: ebpf")
	ErrSocketRefused = errors.New("the collector may not open a netlink socket (a seccomp profile or a security module refuses it): " +
		"allow it socket(AF_NETLINK, SOCK_RAW, NETLINK_CONNECTOR), or use source: ebpf")
	ErrPermission = errors.New("subscribing to the kernel's process events needs CAP_NET_ADMIN in the initial user namespace on this kernel: " +
		"run the collector as root or grant it CAP_NET_ADMIN, or use source: ebpf")
	ErrUserNamespace = errors.New("the kernel's proc connector serves only the initial PID and user namespaces, " +
		"and the collector runs in a user namespace of its own: run it in the host's (not rootless, and hostUsers: true in Kubernetes)")
	ErrNoRootNamespace = errors.New("cannot enter the root network namespace, where the kernel's proc connector lives: " +
		"run the collector in the host network namespace (hostNetwork: true) or grant it CAP_SYS_ADMIN")
	ErrNotRootNamespace = errors.New("the kernel's proc connector only answers in the root network namespace, and procmon's socket is not in it: " +
		"run the collector with hostNetwork: true, or set proc_root to the host's /proc")
	ErrNoAck = errors.New("the kernel did not acknowledge the process event subscription: " +
		"the proc connector only serves the initial PID and user namespaces (run the collector with hostPID: true)")
)

// step is one part of opening a source; the kernel refuses each for reasons
// of its own.
type step int

const (
	// stepSocket opens the NETLINK_CONNECTOR socket and binds it to an
	// address of its own, which needs no privilege.
	stepSocket step = iota
	// stepJoin joins the socket to the connector's process event group
	// (NETLINK_ADD_MEMBERSHIP): the kernel checks CAP_NET_ADMIN here unless
	// it lets any user listen to that group.
	stepJoin
	// stepSend sends PROC_CN_MCAST_LISTEN to the kernel.
	stepSend
	// stepAck waits for the kernel's acknowledgement, which carries its
	// verdict.
	stepAck
)

// String says what the step was doing, to lead its error.
func (s step) String() string {
	switch s {
	case stepSocket:
		return "opening the proc connector socket"
	case stepJoin:
		return "joining the proc connector's process event group"
	case stepSend:
		return "sending the process event subscription"
	}
	return "waiting for the subscription's acknowledgement"
}

// placement is what open learnt of where the collector runs, which decides
// what a refusal means.
type placement struct {
	// nsErr says why the socket could not be opened in the root network
	// namespace; nil when it was.
	nsErr error
	// userNS is set when the collector runs in a user namespace other than
	// the initial one.
	userNS bool
}

// ackTimeout is how long the subscription waited for an acknowledgement
// that never came.
type ackTimeout time.Duration

func (d ackTimeout) Error() string {
	return fmt.Sprintf("no acknowledgement within %s", time.Duration(d))
}

// errRefused leads the error of an acknowledgement that carries an errno.
var errRefused = errors.New("the kernel refused the process event subscription")

// setupError turns what the kernel answered at st into the sentence a user
// acts on, keeping the kernel's answer behind it.
func setupError(st step, err error, at placement) error {
	var timeout ackTimeout
	switch {
	case err == nil:
		return nil
	case st == stepSocket && (errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EAFNOSUPPORT)):
		return fmt.Errorf("%w: %s: %w", ErrNoConnector, st, err)
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		switch {
		case st == stepSocket:
			return fmt.Errorf("%w: %s: %w", ErrSocketRefused, st, err)
		case at.userNS:
			// The kernel checks CAP_NET_ADMIN in the initial user namespace,
			// which no capability inside another one gives.
			return fmt.Errorf("%w: %s: %w", ErrUserNamespace, st, err)
		}
		return fmt.Errorf("%w: %s: %w", ErrPermission, st, err)
	case st == stepSend && errors.Is(err, unix.ECONNREFUSED):
		if at.nsErr != nil {
			return fmt.Errorf("%w: %w; %s: %w", ErrNoRootNamespace, at.nsErr, st, err)
		}
		return fmt.Errorf("%w: %s: %w", ErrNotRootNamespace, st, err)
	case st == stepAck && errors.As(err, &timeout):
		if at.userNS {
			return fmt.Errorf("%w: %w", ErrUserNamespace, err)
		}
		return fmt.Errorf("%w: %w", ErrNoAck, err)
	case st == stepAck && errors.Is(err, errRefused):
		return err
	}
	return fmt.Errorf("%s: %w", st, err)
}
