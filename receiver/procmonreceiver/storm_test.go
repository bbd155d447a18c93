package procmonreceiver

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/procmon-otel/procmon/internal/loadgen"
)

// stormEnv makes the test binary, re-run as a child, run an exec storm and
// write its pids to a file instead of running tests: a storm from its own
// process, so that it does not share the receiver's Go runtime.
const stormEnv = "PROCMON_STORM"

// runStormIfAsked runs the storm stormEnv asks for and exits, when the test
// binary was started as a storm; mdatagen's TestMain calls it first, before
// goleak fails the package if a test left a goroutine running.
func runStormIfAsked() {
	spec := os.Getenv(stormEnv)
	if spec == "" {
		return
	}
	if err := runStorm(spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runStorm runs the storm spec "runs:workers:program:pidfile"; the program
// "fork" makes it a fork storm.
func runStorm(spec string) error {
	parts := strings.SplitN(spec, ":", 4)
	if len(parts) != 4 {
		return fmt.Errorf("%s: want runs:workers:program:pidfile, got %q", stormEnv, spec)
	}
	runs, err1 := strconv.Atoi(parts[0])
	workers, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return fmt.Errorf("%s: bad numbers in %q", stormEnv, spec)
	}
	var res loadgen.Result
	var err error
	if parts[2] == "fork" {
		res, err = loadgen.ForkStorm(runs, workers)
	} else {
		res, err = loadgen.ExecStorm([]string{parts[2]}, runs, workers)
	}
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, p := range res.PIDs {
		b.WriteString(strconv.Itoa(int(p)))
		b.WriteByte('\n')
	}
	return os.WriteFile(parts[3], []byte(b.String()), 0o644)
}
