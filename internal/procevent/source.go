package procevent

import "errors"

// Sink receives what a Source reads. Its methods are called from the
// goroutine that calls Source.Receive.
type Sink interface {
	// Event is called for each decoded event. ev is only valid during the call.
	Event(ev *Event)
	// Lost reports n events that the kernel made but the source never got.
	Lost(n uint64)
	// Malformed reports a message that could not be decoded and was skipped.
	Malformed()
}

// Source is where process events come from.
//
// When Receive fails with an error other than ErrOverrun, the monitor opens
// a replacement through its Opener first and closes the failed source after,
// so that a source can count the events of the gap (see netlinksource).
type Source interface {
	// Receive blocks until events arrive or a short wait ends, then hands
	// every event it read to s. An error means the source needs attention:
	// ErrOverrun can be carried on from; any other error ends the source.
	Receive(s Sink) error
	// Close releases the source and unblocks a blocked Receive. It is safe to
	// call more than once.
	Close() error
}

// Opener opens a new Source, ready to Receive: every event from its return
// on is reported, so that a scan of /proc after it misses nothing.
type Opener func() (Source, error)

// ErrOverrun reports that the kernel dropped events because the source's
// buffer was full. The source is still usable; the loss was reported by Lost.
var ErrOverrun = errors.New("the kernel dropped events: its buffer for procmon was full")
