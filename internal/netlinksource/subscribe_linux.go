package netlinksource

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"time"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/procmon-otel/procmon/internal/kernel"
)

func open(cfg Config, tr *seqTracker) (*source, error) {
	sock, nsErr, err := socket(cfg.ProcRoot)
	switch {
	case errors.Is(err, unix.EPROTONOSUPPORT):
		return nil, fmt.Errorf("%w: %w", ErrNoConnector, err)
	case err != nil:
		return nil, fmt.Errorf("opening the proc connector socket: %w", err)
	}
	s := &source{sock: sock, fd: sock.GetFd(), efd: -1, tr: tr, batch: cfg.Batch, buf: make([]byte, msgBuf), hold: cfg.HoldWait}
	if err := s.setup(cfg); err != nil {
		s.release()
		if nsErr != nil && errors.Is(err, ErrNotRootNamespace) {
			return nil, fmt.Errorf("%w: %w", ErrNoRootNamespace, nsErr)
		}
		return nil, err
	}
	return s, nil
}

// socket opens a proc connector socket bound to the connector's process
// event group, non-blocking, in the root network namespace found through
// procRoot. Where that namespace cannot be entered, the collector may be in
// it already (it only lacks the right to look at pid 1's namespace, or to
// enter it): the socket is then opened where the collector is, the
// subscription tells which it was, and nsErr says why it could not enter.
func socket(procRoot string) (sock *nl.NetlinkSocket, nsErr, err error) {
	root, err := kernel.RootNetNS(procRoot)
	if err != nil {
		if !errors.Is(err, fs.ErrPermission) {
			return nil, nil, err
		}
		nsErr = err
		sock, err = nl.Subscribe(unix.NETLINK_CONNECTOR, cnIdxProc)
		return sock, nsErr, err
	}
	defer root.Close()
	// nl.SubscribeAt moves its thread into root and back, and does not say
	// when moving back fails. So it runs on a goroutine of its own, which
	// checks its thread came back before it lets the thread serve others; a
	// thread that did not stays locked, and Go ends it with the goroutine.
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		before, _ := netns.Get()
		defer before.Close()
		sock, err = nl.SubscribeAt(root, netns.None(), unix.NETLINK_CONNECTOR, cnIdxProc)
		after, _ := netns.Get()
		defer after.Close()
		if before.IsOpen() && after.IsOpen() && after.Equal(before) {
			runtime.UnlockOSThread()
		}
	}()
	<-done
	if err == nil || errors.Is(err, unix.EPROTONOSUPPORT) {
		return sock, nil, err
	}
	nsErr = err
	sock, err = nl.Subscribe(unix.NETLINK_CONNECTOR, cnIdxProc)
	return sock, nsErr, err
}

func (s *source) setup(cfg Config) error {
	if cfg.ReceiveBuffer > 0 {
		// FORCE passes the rmem_max cap when the collector has CAP_NET_ADMIN;
		// without it the kernel caps SO_RCVBUF at rmem_max.
		if err := s.sock.SetReceiveBufferSize(cfg.ReceiveBuffer, true); err != nil {
			if err := s.sock.SetReceiveBufferSize(cfg.ReceiveBuffer, false); err != nil {
				return fmt.Errorf("setting the socket's receive buffer to %d bytes (receive_buffer_bytes): %w", cfg.ReceiveBuffer, err)
			}
		}
	}
	var err error
	if s.port, err = s.sock.GetPid(); err != nil {
		return fmt.Errorf("reading the proc connector socket's address: %w", err)
	}
	if s.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fmt.Errorf("creating the proc connector source's wake-up eventfd: %w", err)
	}
	s.pfds = [2]unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}, {Fd: int32(s.efd), Events: unix.POLLIN}}
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
	if err := subscribeError(s.send(nl.PROC_CN_MCAST_LISTEN, seq, ack)); err != nil {
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

// send writes one proc connector control message: op, with seq and ack in
// its connector header. It is sent to the kernel alone (a zero address):
// nl.NetlinkSocket.Send would address the socket's own multicast group,
// which needs CAP_NET_ADMIN and would hand the message to every other
// listener of process events too.
func (s *source) send(op, seq, ack uint32) error {
	cm := nl.NewCnMsg(cnIdxProc, cnValProc, op)
	cm.Seq, cm.Ack = seq, ack
	var b [nlmsgHdrLen + nl.SizeofCnMsgOp]byte
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], nlmsgDone)
	ne.PutUint32(b[8:], seq)
	ne.PutUint32(b[12:], s.port)
	copy(b[nlmsgHdrLen:], cm.Serialize())
	for {
		err := unix.Sendto(s.fd, b[:], 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		if err != unix.EINTR {
			return err
		}
	}
}
