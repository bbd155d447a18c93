package ebpfsource

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/procmon-otel/procmon/internal/procevent"
)

// Config configures the eBPF source.
type Config struct {
	// RingBufferBytes is the size of the ring buffer between the kernel and
	// procmon, rounded up to a power of two of at least a page. Default 8 MiB.
	RingBufferBytes int
	// MaxArgsBytes bounds the argument bytes captured at an exec, at most
	// 32 KiB. Default 4 KiB.
	MaxArgsBytes int
	// WakeupInterval is how long a record may wait in the ring buffer before
	// it wakes the reader (see bpf/procmon.bpf.c's wakeup_flags): the reader's
	// latency when events are sparse. Default 4ms.
	WakeupInterval time.Duration
	// Batch is the most records one Receive hands on. Default 1024.
	Batch int
	// ExitHook chooses the exit program, for tests: "" picks by what the
	// kernel offers, exitGroupDead or exitLive forces one.
	ExitHook string
}

// The exit programs of bpf/procmon.bpf.c.
const (
	exitGroupDead = "group_dead"
	exitLive      = "live"
)

func (c Config) withDefaults() Config {
	if c.RingBufferBytes <= 0 {
		c.RingBufferBytes = 8 << 20
	}
	c.RingBufferBytes = ringSize(c.RingBufferBytes, os.Getpagesize())
	if c.MaxArgsBytes <= 0 {
		c.MaxArgsBytes = 4096
	}
	c.MaxArgsBytes = min(c.MaxArgsBytes, argsCap)
	if c.WakeupInterval <= 0 {
		c.WakeupInterval = 4 * time.Millisecond
	}
	if c.Batch <= 0 {
		c.Batch = 1024
	}
	return c
}

// ringSize rounds n up to a power of two of at least one page, as the kernel
// requires of a ring buffer.
func ringSize(n, page int) int {
	size := page
	for size < n && size < 1<<30 {
		size <<= 1
	}
	return size
}

// NewOpener returns an Opener of eBPF sources: each loads and attaches the
// programs anew, and reports every event from its return on.
func NewOpener(cfg Config) procevent.Opener {
	cfg = cfg.withDefaults()
	return func() (procevent.Source, error) { return open(cfg) }
}

// source is one loaded and attached set of procmon's BPF programs and the
// reader of their ring buffer.
type source struct {
	coll  *ebpf.Collection
	links []link.Link
	rd    *ringbuf.Reader
	// ready is the ring buffer's descriptor in the Go runtime's poller, and
	// raw its access: Receive parks there until the ring has records, as a
	// network read does, rather than in a blocking system call of its own
	// (see wait).
	ready    *os.File
	raw      syscall.RawConn
	lostV    *ebpf.Variable
	progs    []*ebpf.Program
	interval time.Duration // Config.WakeupInterval
	batch    int
	closed   chan struct{}
	once     sync.Once

	mu       sync.Mutex // held by Receive; Close takes it to release the rest
	rec      ringbuf.Record
	ev       procevent.Event
	dec      decoder
	idle     bool      // no record in the last wait: wait without a deadline
	more     bool      // the last Receive stopped at Batch: records are waiting
	lastRead time.Time // when the last record was read
	lost     uint64    // losses reported so far
	misses   uint64    // program runs the kernel skipped, reported so far
	statsAt  time.Time // when the programs' counters were last read
}

// errClosed is returned by Receive once Close was called.
var errClosed = errors.New("eBPF source closed")

// statsEvery is how often Receive reads the programs' counters of skipped
// runs, a system call per program.
const statsEvery = time.Second

// Receive waits for records, then decodes up to Batch of them into sink. It
// reports ErrOverrun after it reported records the kernel could not keep.
func (s *source) Receive(sink procevent.Sink) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.closed:
		return errClosed
	default:
	}
	if !s.more {
		if err := s.wait(); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				s.idle = true
				return s.reportLoss(sink)
			}
			return err
		}
	}
	// Take what is there without waiting; a deadline in the past makes
	// ReadInto poll once, then return what the ring holds.
	s.rd.SetDeadline(time.Unix(1, 0))
	n := 0
	for ; n < s.batch; n++ {
		err := s.rd.ReadInto(&s.rec)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			return s.readError(err)
		}
		s.handle(sink)
	}
	s.more = n >= s.batch
	s.idle = n == 0 && s.idle
	if n > 0 {
		s.lastRead = time.Now()
	}
	return s.reportLoss(sink)
}

// wait returns once the ring buffer has records, or with
// os.ErrDeadlineExceeded when none came in time. A record that came without
// waking the reader came within WakeupInterval of one that woke it, and so of
// the last read: wait until a little after that, then without a deadline,
// until a record wakes the reader.
func (s *source) wait() error {
	deadline := time.Time{}
	if !s.idle {
		deadline = s.lastRead.Add(s.interval + 2*time.Millisecond)
	}
	if err := s.ready.SetReadDeadline(deadline); err != nil {
		return s.readError(err)
	}
	// Close sets a deadline in the past after it marks the source closed:
	// if this deadline replaced that one, the mark is visible now.
	select {
	case <-s.closed:
		return errClosed
	default:
	}
	err := s.raw.Read(func(uintptr) bool { return s.rd.AvailableBytes() > 0 })
	select {
	case <-s.closed:
		return errClosed // Close ended the wait
	default:
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded) && s.rd.AvailableBytes() > 0:
		return nil
	}
	return s.readError(err)
}

func (s *source) handle(sink procevent.Sink) {
	if err := s.dec.decode(s.rec.RawSample, &s.ev); err != nil {
		sink.Malformed()
		return
	}
	sink.Event(&s.ev)
}

func (s *source) readError(err error) error {
	if errors.Is(err, ringbuf.ErrClosed) || errors.Is(err, os.ErrClosed) {
		return errClosed
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	return fmt.Errorf("reading the eBPF ring buffer: %w", err)
}

// reportLoss hands sink the records lost since the last report: those the
// programs found no room for in the ring buffer, and the program runs the
// kernel skipped because the program was already running on that CPU.
func (s *source) reportLoss(sink procevent.Sink) error {
	var lost uint64
	if err := s.lostV.Get(&lost); err != nil {
		return fmt.Errorf("reading the eBPF programs' loss counter: %w", err)
	}
	n := lost - s.lost
	s.lost = lost
	if now := time.Now(); now.Sub(s.statsAt) >= statsEvery {
		s.statsAt = now
		var misses uint64
		for _, p := range s.progs {
			st, err := p.Stats()
			if err != nil {
				return fmt.Errorf("reading the eBPF programs' counters: %w", err)
			}
			misses += st.RecursionMisses
		}
		n += misses - s.misses
		s.misses = misses
	}
	if n == 0 {
		return nil
	}
	sink.Lost(n)
	return procevent.ErrOverrun
}

// Close detaches the programs and releases everything, unblocking a blocked
// Receive, whose return it waits for.
func (s *source) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closed)
		// Wake a Receive parked in the poller, and wait for it to return.
		_ = s.ready.SetReadDeadline(time.Unix(1, 0))
		s.mu.Lock()
		defer s.mu.Unlock()
		err = s.release()
	})
	return err
}
