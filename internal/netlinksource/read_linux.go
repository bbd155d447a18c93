package netlinksource

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/procmon-otel/procmon/internal/procevent"
)

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
func (s *source) Receive(sink procevent.Sink) error {
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
func (s *source) readBatch(sink procevent.Sink) (int, error) {
	for i := 0; i < s.batch; i++ {
		n, err := s.recv()
		switch {
		case err == unix.EAGAIN:
			return i, nil
		case errors.Is(err, unix.ENOBUFS):
			return i, fmt.Errorf("%w: %w", procevent.ErrOverrun, err)
		case err != nil:
			return i, fmt.Errorf("reading the proc connector socket: %w", err)
		}
		s.handle(s.buf[:n], sink)
	}
	return s.batch, nil
}

// handle decodes every netlink message of one datagram and hands it on.
func (s *source) handle(b []byte, sink procevent.Sink) {
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
			case h.isAck:
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
