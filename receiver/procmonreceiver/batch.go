package procmonreceiver

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	conventions "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/procmon-otel/procmon/internal/procmon"
	"github.com/procmon-otel/procmon/receiver/procmonreceiver/internal/metadata"
)

// logBatcher gathers records into batches, sent when full or when flushed.
// A batch holds one resource per container its records come from (see
// resources), so that processors that enrich by container.id can find it.
type logBatcher struct {
	max       int
	resources *resources
	version   string
	send      func(plog.Logs)
	build     *recordBuilder
	// started has a value when a batch got its first record: the flush loop
	// sleeps on it, so an idle receiver never wakes up.
	started chan struct{}

	mu sync.Mutex
	ld plog.Logs
	// byContainer holds the records of each resource of the batch, by
	// container id ("" for the host's).
	byContainer map[string]plog.LogRecordSlice
	n           int
}

// add appends a record for ev; a worker calls it, and it sends the batch when
// it is full.
func (b *logBatcher) add(ev *procmon.ProcessEvent) {
	b.mu.Lock()
	if b.n == 0 {
		select {
		case b.started <- struct{}{}:
		default:
		}
		b.ld = plog.NewLogs()
		b.byContainer = make(map[string]plog.LogRecordSlice, 1)
	}
	b.build.appendRecord(b.recordsOf(b.resources.containerKey(ev.Process.ContainerID)), ev)
	b.n++
	var full plog.Logs
	send := b.n >= b.max
	if send {
		full = b.take()
	}
	b.mu.Unlock()
	if send {
		b.send(full)
	}
}

// recordsOf returns the records of the batch's resource for container, made
// on first use. b.mu is held.
func (b *logBatcher) recordsOf(container string) plog.LogRecordSlice {
	if recs, ok := b.byContainer[container]; ok {
		return recs
	}
	rl := b.ld.ResourceLogs().AppendEmpty()
	rl.SetSchemaUrl(conventions.SchemaURL)
	b.resources.records(container).MoveTo(rl.Resource())
	sl := rl.ScopeLogs().AppendEmpty()
	sl.SetSchemaUrl(conventions.SchemaURL)
	sl.Scope().SetName(metadata.ScopeName)
	sl.Scope().SetVersion(b.version)
	recs := sl.LogRecords()
	b.byContainer[container] = recs
	return recs
}

// flushLoop sends each batch at most d after its first record, until ctx
// ends.
func (b *logBatcher) flushLoop(ctx context.Context, d time.Duration) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.started:
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		b.flush()
	}
}

// flush sends what is batched, if anything.
func (b *logBatcher) flush() {
	b.mu.Lock()
	var ld plog.Logs
	send := b.n > 0
	if send {
		ld = b.take()
	}
	b.mu.Unlock()
	if send {
		b.send(ld)
	}
}

func (b *logBatcher) take() plog.Logs {
	ld := b.ld
	b.ld, b.byContainer, b.n = plog.Logs{}, nil, 0
	return ld
}
