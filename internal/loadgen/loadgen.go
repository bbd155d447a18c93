// Package loadgen makes process storms for procmon's benchmarks and tests:
// many short processes started as fast as a few workers can start them.
package loadgen

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Result is what a storm did.
type Result struct {
	// PIDs are the processes started, in no particular order.
	PIDs []int32
	// Elapsed is the wall time from the first start to the last reap.
	Elapsed time.Duration
}

// Rate returns processes per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(len(r.PIDs)) / r.Elapsed.Seconds()
}

// ExecStorm starts argv (argv[0] is the program's path) n times from
// workers goroutines, each waiting for its child before it starts the next.
func ExecStorm(argv []string, n, workers int) (Result, error) {
	return PacedExec(argv, n, workers, 0)
}

// PacedExec is ExecStorm with the i-th start no earlier than i*interval
// after the first: a fixed schedule, so that a slow start is not made up by
// a burst. An interval of 0 starts as fast as possible.
func PacedExec(argv []string, n, workers int, interval time.Duration) (Result, error) {
	if len(argv) == 0 {
		return Result{}, errors.New("exec storm: no program")
	}
	return storm(n, workers, interval, func() (int, error) { return startProgram(argv) })
}

// ForkStorm forks n children that exit at once without exec, from workers
// goroutines.
func ForkStorm(n, workers int) (Result, error) {
	return storm(n, workers, 0, forkExit)
}

// storm runs start n times over workers goroutines, on the schedule that
// interval sets, and reaps each child.
func storm(n, workers int, interval time.Duration, start func() (int, error)) (Result, error) {
	if n <= 0 || workers <= 0 {
		return Result{}, fmt.Errorf("storm: n and workers must be positive, got %d and %d", n, workers)
	}
	pids := make([][]int32, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	begin := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]int32, 0, n/workers+1)
			// Worker w makes starts w, w+workers, w+2*workers...
			for i := w; i < n; i += workers {
				if interval > 0 {
					time.Sleep(time.Until(begin.Add(time.Duration(i) * interval)))
				}
				pid, err := start()
				if err != nil {
					errs[w] = fmt.Errorf("starting a process: %w", err)
					break
				}
				if err := reap(pid); err != nil {
					errs[w] = fmt.Errorf("reaping pid %d: %w", pid, err)
					break
				}
				mine = append(mine, int32(pid))
			}
			pids[w] = mine
		}()
	}
	wg.Wait()
	res := Result{Elapsed: time.Since(begin)}
	for _, p := range pids {
		res.PIDs = append(res.PIDs, p...)
	}
	return res, errors.Join(errs...)
}
