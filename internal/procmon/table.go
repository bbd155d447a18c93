package procmon

import "sync"

// pidTable keeps what was learnt of each live process at its exec (or fork,
// or scan) until its exit.
type pidTable struct {
	mu sync.Mutex
	m  map[int32]*Process
	// While a scan runs, the pids that exited unknown to the table, so that
	// the scan does not add a process it read just before its exit.
	scans int
	gone  map[int32]struct{}
}

func (t *pidTable) beginScan() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.scans == 0 {
		t.gone = make(map[int32]struct{})
	}
	t.scans++
}

func (t *pidTable) endScan() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.scans--; t.scans == 0 {
		t.gone = nil
	}
}

// addIfNewThen adds p and calls then, under the table's lock, unless the
// same process (pid and start time) is known or exited during the scan.
func (t *pidTable) addIfNewThen(p *Process, then func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, exited := t.gone[p.PID]; exited {
		return false
	}
	if old, ok := t.m[p.PID]; ok && old.StartTicks == p.StartTicks {
		return false
	}
	t.m[p.PID] = p
	then()
	return true
}

// takeThen removes the entry of pid and hands it (or nil) to then, under the
// table's lock.
func (t *pidTable) takeThen(pid int32, then func(p *Process)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.m[pid]
	delete(t.m, pid)
	if p == nil && t.gone != nil {
		t.gone[pid] = struct{}{}
	}
	then(p)
}

func (t *pidTable) put(p *Process) {
	t.mu.Lock()
	t.m[p.PID] = p
	t.mu.Unlock()
}

// get returns the entry of pid, or nil. The entry must not be modified.
func (t *pidTable) get(pid int32) *Process {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[pid]
}

// addIfNew adds p unless the same process (pid and start time) is known.
func (t *pidTable) addIfNew(p *Process) bool {
	return t.addIfNewThen(p, func() {})
}

// inherit records a forked child as running its parent's program.
func (t *pidTable) inherit(child, parent int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := &Process{PID: child, PPID: parent}
	if pp, ok := t.m[parent]; ok {
		p.Exe, p.Args = pp.Exe, pp.Args
	}
	t.m[child] = p
}

// take removes and returns the entry of pid, or nil.
func (t *pidTable) take(pid int32) (p *Process) {
	t.takeThen(pid, func(e *Process) { p = e })
	return p
}

func (t *pidTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// sweep drops the entries of processes that no longer exist and returns how
// many it dropped. An entry replaced while sweeping is kept.
func (t *pidTable) sweep(exists func(int32) bool) int {
	t.mu.Lock()
	entries := make([]*Process, 0, len(t.m))
	for _, p := range t.m {
		entries = append(entries, p)
	}
	t.mu.Unlock()
	n := 0
	for _, p := range entries {
		if exists(p.PID) {
			continue
		}
		t.mu.Lock()
		if t.m[p.PID] == p {
			delete(t.m, p.PID)
			n++
		}
		t.mu.Unlock()
	}
	return n
}
