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

// open opens a subscribed source: the socket, its group, the subscription
// and its acknowledgement, each step's refusal turned into its sentence by
// setupError.
func open(cfg Config, tr *seqTracker) (*source, error) {
	sock, nsErr, err := socket(cfg.ProcRoot)
	if errors.Is(err, errNoRootNamespace) {
		return nil, err
	}
	initial, uerr := kernel.InitialUserNS()
	at := placement{nsErr: nsErr, userNS: uerr == nil && !initial}
	if err != nil {
		return nil, setupError(stepSocket, err, at)
	}
	s := &source{sock: sock, fd: sock.GetFd(), efd: -1, tr: tr, batch: cfg.Batch, buf: make([]byte, msgBuf), hold: cfg.HoldWait}
	if err := s.setup(cfg, at); err != nil {
		s.release()
		return nil, err
	}
	return s, nil
}

// errNoRootNamespace leads the error of a proc_root whose pid 1 has no
// network namespace to find.
var errNoRootNamespace = errors.New("finding the root network namespace through proc_root")

// socket opens a proc connector socket, non-blocking and bound to an address
// of its own, in the root network namespace found through procRoot. Where
// the collector may not look at that namespace or enter it, it may be in it
// already: the socket is then opened where the collector is, nsErr says why,
// and the subscription tells whether it was the root namespace after all.
func socket(procRoot string) (sock *nl.NetlinkSocket, nsErr, err error) {
	root, err := kernel.RootNetNS(procRoot)
	if err != nil {
		if !errors.Is(err, fs.ErrPermission) {
			return nil, nil, fmt.Errorf("%w: %w", errNoRootNamespace, err)
		}
		nsErr = err
		sock, err = openHere()
		return sock, nsErr, err
	}
	defer root.Close()
	// The move into root and back runs on a goroutine of its own, which lets
	// its thread serve others only once it is back; a thread that could not
	// move back stays locked, and Go ends it with the goroutine.
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		here, herr := netns.Get()
		if herr != nil {
			runtime.UnlockOSThread()
			nsErr = fmt.Errorf("reading the collector's network namespace: %w", herr)
			return
		}
		defer here.Close()
		if here.Equal(root) {
			sock, err = openHere()
			runtime.UnlockOSThread()
			return
		}
		if serr := netns.Set(root); serr != nil {
			runtime.UnlockOSThread()
			nsErr = fmt.Errorf("entering the root network namespace: %w", serr)
			return
		}
		sock, err = openHere()
		if netns.Set(here) == nil {
			runtime.UnlockOSThread()
		}
	}()
	<-done
	if nsErr != nil {
		sock, err = openHere()
	}
	return sock, nsErr, err
}

// openHere opens the socket in the calling thread's network namespace. It
// joins no group yet: setup does, so that a refusal names its step.
func openHere() (*nl.NetlinkSocket, error) {
	return nl.GetNetlinkSocketAt(netns.None(), netns.None(), unix.NETLINK_CONNECTOR)
}

func (s *source) setup(cfg Config, at placement) error {
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
	// The kernel multicasts the acknowledgement to the group, so the socket
	// joins it before it subscribes.
	if err := unix.SetsockoptInt(s.fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, cnIdxProc); err != nil {
		return setupError(stepJoin, err, at)
	}
	return s.subscribe(cfg.AckTimeout, at)
}

// subscribe sends PROC_CN_MCAST_LISTEN and waits for the kernel's
// acknowledgement. Only the 4-byte operation is sent, never the kernel's
// per-socket event filter: filtered-out events still advance the per-CPU
// sequence numbers, so with a filter a gap would no longer mean a loss, and
// exact loss accounting matters more here than the filter's saving.
func (s *source) subscribe(timeout time.Duration, at placement) error {
	seq := uint32(time.Now().UnixNano()) // any number; the kernel ignores it
	ack := s.port                        // our port id: tells our acknowledgement from others'
	if err := s.send(nl.PROC_CN_MCAST_LISTEN, seq, ack); err != nil {
		return setupError(stepSend, err, at)
	}
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return setupError(stepAck, ackTimeout(timeout), at)
		}
		ready, err := s.wait(left)
		if err != nil {
			return setupError(stepAck, err, at)
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
			return setupError(stepAck, err, at)
		}
		msg := s.buf[:n]
		if len(msg) == 0 {
			continue
		}
		h, derr := decode(msg, &s.ev)
		// The kernel answers with ack+1; the sequence number is not ours on
		// kernels that number acknowledgements like events.
		if derr == nil && h.isAck && h.ack == ack+1 {
			if h.ackErr != 0 {
				return setupError(stepAck, fmt.Errorf("%w: %w", errRefused, unix.Errno(h.ackErr)), at)
			}
			return nil
		}
		// Another listener's events, or its acknowledgement: keep them for
		// the first Receive, so nothing read here is lost.
		s.pending = append(s.pending, append([]byte(nil), msg...))
	}
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
