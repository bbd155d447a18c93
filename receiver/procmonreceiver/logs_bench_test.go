package procmonreceiver

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/internal/redact"
)

// BenchmarkAppendRecord turns a fully enriched event into a log record with
// the default configuration's builder, into batches of the default size.
func BenchmarkAppendRecord(b *testing.B) {
	r, err := redact.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	build := &recordBuilder{mode: redact.ModeRedacted, redactor: r, users: testUsers, maxLen: 4096}
	const batch = 512
	for _, k := range []procevent.Kind{procevent.KindExec, procevent.KindExit, procevent.KindFork} {
		b.Run(k.String(), func(b *testing.B) {
			ev := recordEvent(k)
			newBatch := func() plog.LogRecordSlice {
				rs := plog.NewLogRecordSlice()
				rs.EnsureCapacity(batch)
				return rs
			}
			rs := newBatch()
			b.ReportAllocs()
			for b.Loop() {
				// A new slice per batch, as the batcher does, so memory stays bounded.
				if rs.Len() == batch {
					rs = newBatch()
				}
				build.appendRecord(rs, ev)
			}
		})
	}
}
