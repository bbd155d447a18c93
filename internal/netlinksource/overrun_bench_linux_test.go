package netlinksource

import (
	"os/exec"
	"testing"
	"time"

	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/internal/procmon"
	"github.com/procmon-otel/procmon/internal/testutil"
)

// slowSource makes a reader that falls behind: it pauses after each Receive.
type slowSource struct {
	procevent.Source
	pause time.Duration
}

func (s slowSource) Receive(sink procevent.Sink) error {
	err := s.Source.Receive(sink)
	time.Sleep(s.pause)
	return err
}

// BenchmarkOverrunStrategy compares the two answers to a receive buffer
// overrun, carrying on with the socket or re-opening it, on a tiny buffer and
// a reader that falls behind during a shell's fork and exec storm. It reports
// the share of kernel events lost; run it with -benchtime 1x.
func BenchmarkOverrunStrategy(b *testing.B) {
	testutil.RequireRoot(b)
	for _, tc := range []struct {
		name    string
		restart bool
	}{{"carry_on", false}, {"restart", true}} {
		b.Run(tc.name, func(b *testing.B) {
			var lost, got, overruns, restarts uint64
			for range b.N {
				open := NewOpener(Config{ProcRoot: "/proc", ReceiveBuffer: 4096})
				m := procmon.New(procmon.Config{
					Open: func() (procevent.Source, error) {
						src, err := open()
						if err != nil {
							return nil, err
						}
						return slowSource{Source: src, pause: 2 * time.Millisecond}, nil
					},
					RestartOnOverrun: tc.restart,
					RestartBackoff:   time.Millisecond,
				})
				if err := m.Initialize(); err != nil {
					b.Fatal(err)
				}
				storm := exec.Command("/bin/sh", "-c", "i=0; while [ $i -lt 3000 ]; do (/bin/true); i=$((i+1)); done")
				if err := storm.Run(); err != nil {
					b.Fatal(err)
				}
				time.Sleep(200 * time.Millisecond)
				m.Stop()
				c := m.Counters()
				lost += c.KernelLost
				for _, n := range c.Events {
					got += n
				}
				overruns += c.Overruns
				restarts += c.Restarts
			}
			b.ReportMetric(100*float64(lost)/float64(lost+got), "%lost")
			b.ReportMetric(float64(overruns)/float64(b.N), "overruns/op")
			b.ReportMetric(float64(restarts)/float64(b.N), "restarts/op")
		})
	}
}
