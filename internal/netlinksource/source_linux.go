package netlinksource

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/procmon-otel/procmon/internal/procevent"
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

// NewOpener returns an Opener for proc connector sources. Every source it
// opens shares one sequence tracker, so that a restart's gap is counted.
func NewOpener(cfg Config) procevent.Opener {
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
	return func() (procevent.Source, error) { return open(cfg, tr) }
}

// source is one subscribed proc connector socket. Receive blocks in poll(2)
// on the socket and an eventfd, on whatever thread calls it, rather than in
// Go's network poller: a reader on its own locked thread then wakes straight
// from the kernel, which matters when a process may exit within a
// millisecond of its exec. Close signals the eventfd.
type source struct {
	sock    *nl.NetlinkSocket // owns fd
	fd, efd int
	pfds    [2]unix.PollFd
	tr      *seqTracker
	batch   int
	hold    time.Duration
	buf     []byte
	ev      procevent.Event
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

// release closes the descriptors.
func (s *source) release() {
	s.sock.Close()
	if s.efd >= 0 {
		_ = unix.Close(s.efd)
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
