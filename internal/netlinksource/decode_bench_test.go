package netlinksource

import (
	"testing"

	"github.com/procmon-otel/procmon/internal/procevent"
)

// BenchmarkDecode decodes the three events of a process's life as the kernel
// sends them; decode runs once per kernel event on the reader thread.
func BenchmarkDecode(b *testing.B) {
	for _, bc := range []struct {
		name string
		msg  []byte
	}{
		{"fork", message(evFork, 1, 5, 99, 10, 10, 11, 11)},
		{"exec", message(evExec, 0, 6, 100, 11, 11)},
		{"exit", message(evExit, 1, 7, 101, 11, 11, 0, 17, 10, 10)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var ev procevent.Event
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.msg)))
			for b.Loop() {
				if _, err := decode(bc.msg, &ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
