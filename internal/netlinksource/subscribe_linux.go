package netlinksource

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"golang.org/x/sys/unix"

	"github.com/procmon-otel/procmon/internal/kernel"
)

func open(cfg Config, tr *seqTracker) (*source, error) {
	fd, sockErr := -1, error(nil)
	newSocket := func() error {
		fd, sockErr = unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_CONNECTOR)
		return sockErr
	}
	nsErr := kernel.WithRootNS(cfg.ProcRoot, newSocket)
	if fd < 0 && sockErr == nil {
		// The root namespace could not be entered. The collector may be in it
		// already (it only lacks the right to look at pid 1's namespace); the
		// subscription tells, so try from here and say which it was later.
		if !errors.Is(nsErr, fs.ErrPermission) {
			return nil, fmt.Errorf("opening the proc connector socket: %w", nsErr)
		}
		_ = newSocket()
	} else {
		nsErr = nil
	}
	switch {
	case errors.Is(sockErr, unix.EPROTONOSUPPORT):
		return nil, fmt.Errorf("%w: %w", ErrNoConnector, sockErr)
	case sockErr != nil:
		return nil, fmt.Errorf("opening the proc connector socket: %w", sockErr)
	}
	s := &source{fd: fd, efd: -1, tr: tr, batch: cfg.Batch, buf: make([]byte, msgBuf), hold: cfg.HoldWait}
	if err := s.setup(cfg); err != nil {
		s.release()
		if nsErr != nil && errors.Is(err, ErrNotRootNamespace) {
			return nil, fmt.Errorf("%w: %w", ErrNoRootNamespace, nsErr)
		}
		return nil, err
	}
	return s, nil
}

func (s *source) setup(cfg Config) error {
	fd := s.fd
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		return fmt.Errorf("binding the proc connector socket: %w", err)
	}
	if cfg.ReceiveBuffer > 0 {
		// FORCE passes the rmem_max cap when the collector has CAP_NET_ADMIN;
		// without it the kernel caps SO_RCVBUF at rmem_max.
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, cfg.ReceiveBuffer); err != nil {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, cfg.ReceiveBuffer); err != nil {
				return fmt.Errorf("setting the receive buffer to %d bytes: %w", cfg.ReceiveBuffer, err)
			}
		}
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fmt.Errorf("reading the proc connector socket's address: %w", err)
	}
	if nl, ok := sa.(*unix.SockaddrNetlink); ok {
		s.port = nl.Pid
	}
	if s.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fmt.Errorf("creating the proc connector source's wake-up eventfd: %w", err)
	}
	s.pfds = [2]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(s.efd), Events: unix.POLLIN}}
	return s.subscribe(cfg.AckTimeout)
}

// subscribe sends PROC_CN_MCAST_LISTEN and waits for the kernel's
// acknowledgement. Only the 4-byte operation is sent, never the kernel's
// per-socket event filter: filtered-out events still advance the per-CPU
// sequence numbers, so with a filter a gap would no longer mean a loss, and
// exact loss accounting matters more here than the filter's saving.
func (s *source) subscribe(timeout time.Duration) error {
	seq := uint32(time.Now().UnixNano()) // any number; the kernel ignores it
	ack := s.port                        // our port id: tells our acknowledgement from others'
	if err := subscribeError(s.send(opListen, seq, ack)); err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%w (waited %s)", ErrNoAck, timeout)
		}
		ready, err := s.wait(left)
		if err != nil {
			return fmt.Errorf("waiting for the subscription's acknowledgement: %w", err)
		}
		if !ready {
			continue
		}
		n, err := s.recv()
		if err == unix.EAGAIN || errors.Is(err, unix.ENOBUFS) {
			// ENOBUFS: others' events overran us before the ack; the ack is
			// still coming.
			continue
		}
		if err != nil {
			return fmt.Errorf("waiting for the subscription's acknowledgement: %w", err)
		}
		msg := s.buf[:n]
		if len(msg) == 0 {
			continue
		}
		h, derr := decode(msg, &s.ev)
		// The kernel answers with ack+1; the sequence number is not ours on
		// kernels that number acknowledgements like events.
		if derr == nil && h.isAck && h.ack == ack+1 {
			return ackError(unix.Errno(h.ackErr))
		}
		// Another listener's events, or its acknowledgement: keep them for
		// the first Receive, so nothing read here is lost.
		s.pending = append(s.pending, append([]byte(nil), msg...))
	}
}

// subscribeError turns the error of sending the subscription into its
// sentence: the kernel refuses it without CAP_NET_ADMIN (before 6.6) and
// outside the root network namespace.
func subscribeError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return fmt.Errorf("%w: %w", ErrPermission, err)
	case errors.Is(err, unix.ECONNREFUSED):
		return fmt.Errorf("%w: %w", ErrNotRootNamespace, err)
	}
	return fmt.Errorf("subscribing to the proc connector: %w", err)
}

// ackError turns the errno of the kernel's acknowledgement into an error.
func ackError(errno unix.Errno) error {
	switch errno {
	case 0:
		return nil
	case unix.EPERM, unix.EACCES:
		return fmt.Errorf("%w: %w", ErrPermission, errno)
	}
	return fmt.Errorf("the kernel refused the process event subscription: %w", errno)
}

// send writes one proc connector control message.
func (s *source) send(op, seq, ack uint32) error {
	var b [nlmsgHdrLen + cnMsgLen + 4]byte
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], nlmsgDone)
	ne.PutUint32(b[8:], seq)
	ne.PutUint32(b[12:], s.port)
	c := b[nlmsgHdrLen:]
	ne.PutUint32(c[0:], cnIdxProc)
	ne.PutUint32(c[4:], cnValProc)
	ne.PutUint32(c[8:], seq)
	ne.PutUint32(c[12:], ack)
	ne.PutUint16(c[16:], 4)
	ne.PutUint32(c[cnMsgLen:], op)
	for {
		err := unix.Sendto(s.fd, b[:], 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		if err != unix.EINTR {
			return err
		}
	}
}
