// Command procstorm starts many short processes as fast as it can, for
// measuring procmon: an exec storm (fork and exec a program, reap it) or a
// fork storm (fork, exit at once, reap), from a few workers.
//
//	procstorm -mode exec -n 20000 -workers 2 -pids pids.txt /tmp/pmtrue
//	procstorm -mode fork -n 200000 -workers 2
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/procmon-otel/procmon/internal/loadgen"
)

func main() {
	mode := flag.String("mode", "exec", "exec (fork and exec the program) or fork (fork and exit)")
	n := flag.Int("n", 1000, "processes to start")
	workers := flag.Int("workers", 2, "goroutines starting processes at once")
	pidsFile := flag.String("pids", "", "file to write the started pids to, one a line")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: procstorm [flags] [program [args...]]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*mode, *n, *workers, *pidsFile, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "procstorm:", err)
		os.Exit(1)
	}
}

func run(mode string, n, workers int, pidsFile string, argv []string) error {
	var res loadgen.Result
	var err error
	switch mode {
	case "exec":
		if len(argv) == 0 {
			argv = []string{"/bin/true"}
		}
		res, err = loadgen.ExecStorm(argv, n, workers)
	case "fork":
		res, err = loadgen.ForkStorm(n, workers)
	default:
		return fmt.Errorf("-mode: unknown mode %q; use exec or fork", mode)
	}
	if err != nil {
		return err
	}
	fmt.Printf("%s storm: %d processes in %.2fs, %.0f/s\n", mode, len(res.PIDs), res.Elapsed.Seconds(), res.Rate())
	if pidsFile == "" {
		return nil
	}
	f, err := os.Create(pidsFile)
	if err != nil {
		return fmt.Errorf("-pids: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, p := range res.PIDs {
		w.WriteString(strconv.Itoa(int(p)))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("-pids: %w", err)
	}
	return f.Close()
}
