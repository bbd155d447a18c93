package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sample is one reading of a process.
type sample struct {
	at  time.Time
	cpu cpuTime
	mem memory
}

// readProc reads pid's CPU time and memory.
func readProc(pid int) (sample, error) {
	at := time.Now()
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return sample{}, err
	}
	cpu, err := parseStatCPU(stat)
	if err != nil {
		return sample{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return sample{}, err
	}
	mem, err := parseStatus(status)
	if err != nil {
		return sample{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	return sample{at: at, cpu: cpu, mem: mem}, nil
}

// samplePeriod is how often a sampler reads its process: VmHWM covers the
// whole life of the process, so a scenario's own peak comes from VmRSS samples.
const samplePeriod = 100 * time.Millisecond

// sampler reads a process every samplePeriod until stopped.
type sampler struct {
	pid  int
	quit chan struct{}
	done chan struct{}

	mu      sync.Mutex
	samples []sample
	err     error
}

// startSampler takes a first sample at once, then one every samplePeriod.
func startSampler(pid int) (*sampler, error) {
	first, err := readProc(pid)
	if err != nil {
		return nil, err
	}
	s := &sampler{pid: pid, quit: make(chan struct{}), done: make(chan struct{}), samples: []sample{first}}
	go s.loop()
	return s, nil
}

func (s *sampler) loop() {
	defer close(s.done)
	t := time.NewTicker(samplePeriod)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		if !s.take() {
			return
		}
	}
}

// take adds one sample; false when the process cannot be read any more.
func (s *sampler) take() bool {
	smp, err := readProc(s.pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.err = err
		return false
	}
	s.samples = append(s.samples, smp)
	return true
}

// latest returns the newest sample.
func (s *sampler) latest() sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples[len(s.samples)-1]
}

// stop takes a last sample and returns them all.
func (s *sampler) stop() ([]sample, error) {
	close(s.quit)
	<-s.done
	s.take()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples, s.err
}

// netlinkConnector is NETLINK_CONNECTOR, the protocol column of /proc/net/netlink.
const netlinkConnector = 11

// connectorInodes returns the inodes of every proc connector socket in this
// network namespace.
func connectorInodes() (map[string]bool, error) {
	f, err := os.Open("/proc/net/netlink")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	inodes := make(map[string]bool)
	sc := bufio.NewScanner(f)
	sc.Scan() // header: sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 10 && fields[1] == strconv.Itoa(netlinkConnector) {
			inodes[fields[9]] = true
		}
	}
	return inodes, sc.Err()
}

// connectorHolders returns, by pid, the command names of the processes that
// hold a proc connector socket: each of them costs the kernel work per event.
func connectorHolders() (map[int]string, error) {
	inodes, err := connectorInodes()
	if err != nil || len(inodes) == 0 {
		return nil, err
	}
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	holders := make(map[int]string)
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if holdsConnector(pid, inodes) {
			comm, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "comm"))
			holders[pid] = strings.TrimSpace(string(comm))
		}
	}
	return holders, nil
}

// holdsConnector reports whether pid has one of inodes open.
func holdsConnector(pid int, inodes map[string]bool) bool {
	fdDir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return false // gone, or a kernel thread
	}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
		if err == nil && strings.HasPrefix(target, "socket:[") && inodes[strings.Trim(target[len("socket:"):], "[]")] {
			return true
		}
	}
	return false
}

// hostForks returns the host's forks since boot, 0 when unreadable (the
// count of other processes is then meaningless, and shown as such).
func hostForks() uint64 {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	n, _ := parseForks(stat)
	return n
}
