package kernel

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// Capability numbers procmon cares about (linux/capability.h).
const (
	CapNetAdmin  = 12
	CapSysPtrace = 19
	CapSysAdmin  = 21
	CapSysNice   = 23
	CapPerfmon   = 38
	CapBPF       = 39
)

// EffectiveCaps returns the effective capability set of the calling process
// as a bit mask, from /proc/self/status.
func EffectiveCaps() (uint64, error) {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("reading the collector's capabilities: %w", err)
	}
	return parseCapEff(raw)
}

func parseCapEff(raw []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("CapEff:")); ok {
			caps, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("parsing CapEff: %w", err)
			}
			return caps, nil
		}
	}
	return 0, fmt.Errorf("no CapEff line in /proc/self/status")
}
