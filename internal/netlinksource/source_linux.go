package netlinksource

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/procmon-otel/procmon/internal/kernel"
	"github.com/procmon-otel/procmon/internal/procmon"
)

// Config configures the proc connector source.
type Config struct {
	// ProcRoot is where the host's /proc is mounted; the root network
	// namespace is found through it.
	ProcRoot string
	// ReceiveBuffer is the socket receive buffer in bytes. The kernel default
	// holds only a few hundred events, so bursts need more.
	ReceiveBuffer int
	// AckTimeout bounds the wait for the kernel to acknowledge the
	// subscription. Default 2s.
	AckTimeout time.Duration
	// Batch is the most messages read per wake-up. Default 256.
	Batch int
	// HoldWait is how long Receive first waits for the next message without
	// telling the Go runtime it is in a system call (see waitHeld); 0 turns
	// that off. NewOpener's default is holdWait when GOMAXPROCS is at least
	// 2, else 0; a negative value means 0.
	HoldWait time.Duration
}

// Setup failures, each its own sentence; errors.Is tells them apart.
var (
	ErrNoRootNamespace = errors.New("cannot enter the root network namespace, where the kernel's proc connector lives: " +
		"run the collector in the host network namespace (hostNetwork: true) or grant it CAP_SYS_ADMIN")
	ErrPermission = errors.New("subscribing to the kernel's process events needs CAP_NET_ADMIN in the initial user namespace: " +
		"run the collector as root or grant it CAP_NET_ADMIN")
	ErrNotRootNamespace = errors.New("the kernel's proc connector only answers in the root network namespace, and procmon's socket is not in it: " +
		"run the collector with hostNetwork: true, or set proc_root to the host's /proc")
	ErrNoAck = errors.New("the kernel did not acknowledge the process event subscription: " +
		"the proc connector only serves the initial PID and user namespaces (run the collector with hostPID: true)")
	ErrNoConnector = errors.New("this kernel has no proc connector (CONFIG_PROC_EVENTS)")
)

// NewOpener returns an Opener for proc connector sources. Every source it
// opens shares one sequence tracker, so that a restart's gap is counted.
func NewOpener(cfg Config) procmon.Opener {
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 2 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 256
	}
	switch {
	case cfg.HoldWait < 0:
		cfg.HoldWait = 0
	case cfg.HoldWait == 0 && runtime.GOMAXPROCS(0) >= 2:
		cfg.HoldWait = holdWait
	}
	tr := &seqTracker{}
	return func() (procmon.Source, error) { return open(cfg, tr) }
}

// source is one subscribed proc connector socket. Receive blocks in poll(2)
// on the socket and an eventfd, on whatever thread calls it, rather than in
// Go's network poller: a reader on its own locked thread then wakes straight
// from the kernel, which matters when a process may exit within a
// millisecond of its exec. Close signals the eventfd.
type source struct {
	fd, efd int
	pfds    [2]unix.PollFd
	tr      *seqTracker
	batch   int
	hold    time.Duration
	buf     []byte
	ev      procmon.Event
	port    uint32

	io      sync.Mutex // held by Receive; Close takes it to release the fds
	closing atomic.Bool
	closed  bool

	pending [][]byte // messages read while waiting for the acknowledgement
}

// errClosed is returned by Receive once Close was called.
var errClosed = errors.New("proc connector source closed")

// ackCPU is the CPU field of an acknowledgement outside the sequence.
const ackCPU = 0xffffffff

// msgBuf fits the largest proc connector message with room to spare.
const msgBuf = 4096

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

// release closes the descriptors.
func (s *source) release() {
	_ = unix.Close(s.fd)
	if s.efd >= 0 {
		_ = unix.Close(s.efd)
	}
}

// wait blocks until the socket is readable, Close is called, or timeout
// passes (a negative timeout waits for ever, first in waitHeld). ready is
// false on timeout.
func (s *source) wait(timeout time.Duration) (ready bool, err error) {
	if timeout < 0 && s.waitHeld() {
		return s.readyUnlessClosed(1)
	}
	ms := -1
	if timeout >= 0 {
		ms = int(timeout.Milliseconds())
	}
	for {
		s.pfds[0].Revents, s.pfds[1].Revents = 0, 0
		n, err := unix.Poll(s.pfds[:], ms)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return false, err
		}
		return s.readyUnlessClosed(n)
	}
}

// readyUnlessClosed turns a poll that found n descriptors ready into wait's
// answer: errClosed when Close was called.
func (s *source) readyUnlessClosed(n int) (bool, error) {
	if s.pfds[1].Revents != 0 || s.closing.Load() {
		return false, errClosed
	}
	return n > 0, nil
}

// holdWait is the default for Config.HoldWait: a few gaps between events of
// a busy host, and short enough that the processor it holds is soon free.
const holdWait = time.Millisecond

// waitHeld waits up to s.hold for the socket or the eventfd to be ready,
// calling ppoll without telling the Go runtime, and reports whether either
// is. The Go runtime's monitor thread briefly locks a goroutine that is in
// a system call, to see whether to take its processor away; a reader thread
// running at a real-time priority that wakes on the CPU where the monitor
// holds that lock preempts it, then spins in the runtime waiting for it,
// for as long as the kernel lets real-time threads starve others (0.95 s
// here). Measured: exec storms with reader stalls of 0.9 s and a fifth of
// the collector's CPU spent spinning. A raw ppoll keeps the goroutine
// running as far as the runtime knows, so nothing locks it; the price is
// that it keeps its processor (GOMAXPROCS slot) while it waits, so the wait
// is short and falls back to the runtime's way after s.hold. Busy hosts,
// where the race against exiting processes is, are served by the held wait.
func (s *source) waitHeld() bool {
	if s.hold <= 0 {
		return false
	}
	ts := unix.NsecToTimespec(int64(s.hold))
	s.pfds[0].Revents, s.pfds[1].Revents = 0, 0
	n, _, errno := unix.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&s.pfds[0])), uintptr(len(s.pfds)),
		uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	return errno == 0 && n > 0
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
		if derr == nil && s.ev.Kind == procmon.KindNone && h.ack == ack+1 {
			return ackError(unix.Errno(s.ev.AckErr))
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

// recv reads one datagram into s.buf, accepting only what the kernel sent.
// It calls recvfrom directly so that no source address is allocated.
func (s *source) recv() (int, error) {
	fd := uintptr(s.fd)
	for {
		var from unix.RawSockaddrNetlink
		fromLen := uint32(unix.SizeofSockaddrNetlink)
		// Raw: the socket is non-blocking, so this never waits, and the
		// runtime need not hear of it.
		n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, fd,
			uintptr(unsafe.Pointer(&s.buf[0])), uintptr(len(s.buf)), unix.MSG_DONTWAIT,
			uintptr(unsafe.Pointer(&from)), uintptr(unsafe.Pointer(&fromLen)))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return 0, errno
		}
		if from.Pid != 0 {
			continue // not from the kernel: never trust it
		}
		return int(n), nil
	}
}

// Receive waits for messages, then decodes up to Batch of them into sink.
func (s *source) Receive(sink procmon.Sink) error {
	s.io.Lock()
	defer s.io.Unlock()
	if s.closed || s.closing.Load() {
		return errClosed
	}
	if len(s.pending) > 0 {
		for _, msg := range s.pending {
			s.handle(msg, sink)
		}
		s.pending = nil
		return nil
	}
	for {
		n, err := s.readBatch(sink)
		if n > 0 || err != nil {
			return err
		}
		if _, err := s.wait(-1); err != nil {
			return err
		}
	}
}

// readBatch reads until the socket is empty or Batch messages were read, and
// returns how many it read.
func (s *source) readBatch(sink procmon.Sink) (int, error) {
	for i := 0; i < s.batch; i++ {
		n, err := s.recv()
		switch {
		case err == unix.EAGAIN:
			return i, nil
		case errors.Is(err, unix.ENOBUFS):
			return i, fmt.Errorf("%w: %w", procmon.ErrOverrun, err)
		case err != nil:
			return i, fmt.Errorf("reading the proc connector socket: %w", err)
		}
		s.handle(s.buf[:n], sink)
	}
	return s.batch, nil
}

// handle decodes every netlink message of one datagram and hands it on.
func (s *source) handle(b []byte, sink procmon.Sink) {
	for len(b) >= nlmsgHdrLen {
		l := int(ne.Uint32(b[0:4]))
		if l < nlmsgHdrLen || l > len(b) {
			sink.Malformed()
			return
		}
		switch ne.Uint16(b[4:6]) {
		case nlmsgDone:
			h, err := decode(b[:l], &s.ev)
			switch {
			case errors.Is(err, errUnknown):
				// A real event of a type this build does not know: it took
				// a sequence number, so it is malformed here, not lost.
				s.tr.observe(s.ev.CPU, h.seq)
				sink.Malformed()
			case err != nil:
				sink.Malformed()
			case s.ev.Kind == procmon.KindNone:
				// An acknowledgement (of another listener's request). Older
				// kernels send it with CPU -1 outside the event sequence;
				// newer ones (6.18 measured) number it per CPU like an event.
				if s.ev.CPU != ackCPU {
					s.tr.observe(s.ev.CPU, h.seq)
				}
			default:
				if lost := s.tr.observe(s.ev.CPU, h.seq); lost > 0 {
					sink.Lost(lost)
				}
				sink.Event(&s.ev)
			}
		case nlmsgError, unix.NLMSG_NOOP:
		default:
			sink.Malformed()
		}
		b = b[min(len(b), (l+3)&^3):]
	}
}

// Close unsubscribes and closes the socket, unblocking a blocked Receive,
// whose return it waits for.
func (s *source) Close() error {
	if s.closing.Swap(true) {
		return nil
	}
	var one [8]byte
	one[0] = 1
	_, _ = unix.Write(s.efd, one[:])
	s.io.Lock()
	defer s.io.Unlock()
	// Kernels before 6.6 count listeners only by these messages; tell them
	// we are gone so they stop building events nobody reads.
	_ = s.send(opIgnore, 0, 0)
	s.closed = true
	s.release()
	return nil
}
