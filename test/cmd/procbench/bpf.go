package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cilium/ebpf"
)

// bpfStatsPath is the switch of the kernel's accounting of BPF program run
// time, off by default because it costs a little on every run.
const bpfStatsPath = "/proc/sys/kernel/bpf_stats_enabled"

// procmonPrograms are the names of the eBPF source's programs, as the kernel
// keeps them (cut to 15 bytes).
var procmonPrograms = []string{"handle_exec", "handle_fork", "handle_exit", "handle_exit_liv"}

// bpfStats turns the kernel's run time accounting on for the run and back
// to what it was after.
type bpfStats struct {
	before string
}

// enableBPFStats switches the accounting on.
func enableBPFStats() (*bpfStats, error) {
	before, err := os.ReadFile(bpfStatsPath)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", bpfStatsPath, err)
	}
	if err := os.WriteFile(bpfStatsPath, []byte("1"), 0o644); err != nil {
		return nil, fmt.Errorf("enabling BPF run time accounting: %w", err)
	}
	return &bpfStats{before: strings.TrimSpace(string(before))}, nil
}

// restore puts the accounting back as it was.
func (s *bpfStats) restore() {
	_ = os.WriteFile(bpfStatsPath, []byte(s.before), 0o644)
}

// bpfUsage is what the kernel accounted to procmon's programs.
type bpfUsage struct {
	runtime time.Duration
	runs    uint64
}

// bpfTime sums the run time of every loaded program of procmon's, or is
// zero when the eBPF source is not the one running.
func (b *bench) bpfTime() bpfUsage {
	var u bpfUsage
	if b.bpf == nil || b.source != sourceEBPF {
		return u
	}
	for id := ebpf.ProgramID(0); ; {
		next, err := ebpf.ProgramGetNextID(id)
		if errors.Is(err, os.ErrNotExist) || err != nil {
			return u
		}
		id = next
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue
		}
		info, err := p.Info()
		if err == nil && isProcmonProgram(info.Name) {
			if st, err := p.Stats(); err == nil {
				u.runtime += st.Runtime
				u.runs += st.RunCount
			}
		}
		p.Close()
	}
}

func isProcmonProgram(name string) bool {
	for _, n := range procmonPrograms {
		if name == n {
			return true
		}
	}
	return false
}
