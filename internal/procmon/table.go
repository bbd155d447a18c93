package procmon

import (
	"container/list"
	"sync"

	"github.com/procmon-otel/procmon/internal/procevent"
)

// pidTable keeps what was learnt of each live process at its exec (or fork,
// or scan) until its exit. It holds at most max entries: beyond that the
// oldest entry is evicted and counted, so processes whose exit was lost can
// never make it grow without bound.
type pidTable struct {
	mu    sync.Mutex
	m     map[int32]*list.Element // of *Process, oldest at the front
	order *list.List
	max   int

	evictions uint64
	// epoch grows each time the kernel loses events: an entry made in an
	// earlier epoch may describe a process whose exit was lost.
	epoch uint64

	// While a scan runs, the pids that exited unknown to the table, so that
	// the scan does not add a process it read just before its exit.
	scans int
	gone  map[int32]struct{}
}

// entry is one process the table keeps, with what only the table's lock
// guards.
type entry struct {
	p *Process
	// threads counts the process's live tasks, from its exec or fork on, for
	// a source that reports every task's exit; 0 when unknown.
	threads int32
	// leaderGone is set once the group leader's task ended while others live.
	leaderGone bool
}

func newPidTable(max int) pidTable {
	return pidTable{m: make(map[int32]*list.Element), order: list.New(), max: max}
}

// putLocked stores p, whose thread count is threads (0 for unknown),
// replacing any entry of its pid, and evicts the oldest entries beyond max.
func (t *pidTable) putLocked(p *Process, threads int32) {
	p.lossEpoch = t.epoch
	if e, ok := t.m[p.PID]; ok {
		t.order.Remove(e)
	}
	t.m[p.PID] = t.order.PushBack(&entry{p: p, threads: threads})
	for t.order.Len() > t.max {
		oldest := t.order.Front()
		t.order.Remove(oldest)
		delete(t.m, oldest.Value.(*entry).p.PID)
		t.evictions++
	}
}

func (t *pidTable) removeLocked(pid int32) *Process {
	e, ok := t.m[pid]
	if !ok {
		return nil
	}
	t.order.Remove(e)
	delete(t.m, pid)
	return e.Value.(*entry).p
}

// put stores p, which has threads tasks (0 for unknown).
func (t *pidTable) put(p *Process, threads int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.putLocked(p, threads)
}

// get returns the entry of pid, or nil. The entry must not be modified.
func (t *pidTable) get(pid int32) *Process {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.m[pid]; ok {
		return e.Value.(*entry).p
	}
	return nil
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
	if e, ok := t.m[p.PID]; ok && e.Value.(*entry).p.StartTicks == p.StartTicks {
		return false
	}
	t.putLocked(p, 0)
	then()
	return true
}

// inherit records a forked child as running its parent's program, lets fill
// add what the source said of the child, and returns the child's entry.
func (t *pidTable) inherit(child, parent int32, fill func(*Process)) *Process {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := &Process{PID: child, PPID: parent, Missing: 1<<procevent.NumFields - 1}
	if e, ok := t.m[parent]; ok {
		pp := e.Value.(*entry).p
		p.Exe, p.Comm, p.Args, p.Argc, p.ParentName = pp.Exe, pp.Comm, pp.Args, pp.Argc, pp.Name()
		p.UIDs, p.GIDs, p.IDsKnown = pp.UIDs, pp.GIDs, pp.IDsKnown
		// Not pp.Missing: the parent's worker may be writing it.
		p.Missing = 1<<procevent.FieldStat | 1<<procevent.FieldCwd | 1<<procevent.FieldCgroup
		if pp.Exe == "" {
			p.Missing |= 1 << procevent.FieldExe
		}
		if !pp.IDsKnown {
			p.Missing |= 1 << procevent.FieldStatus
		}
		if pp.Args == nil {
			p.Missing |= 1 << procevent.FieldCmdline
		}
		if pp.cgroupAtExec {
			// A child starts in its parent's cgroup; this one's was
			// captured at its exec. (Its working directory may have changed
			// since: the child's is read.)
			p.Cgroup, p.ContainerID, p.cgroupAtExec = pp.Cgroup, pp.ContainerID, true
			p.Missing &^= 1 << procevent.FieldCgroup
		}
	}
	fill(p)
	t.putLocked(p, 1) // a new process has one thread
	return p
}

// startThread counts a new thread of process tgid.
func (t *pidTable) startThread(tgid int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.m[tgid]; ok {
		if en := e.Value.(*entry); en.threads > 0 {
			en.threads++
		}
	}
}

// endTask records that task pid of process tgid ended, for a source that
// reports every task's exit, and reports whether that ended the process. The
// last task to end does, whether or not it leads the group: a leader may end
// first, and the others then carry on; and when a thread execs, the kernel
// ends the leader in its stead. Where the count is unknown (the process was
// found by a scan, or the kernel lost events since its exec) the leader's
// end is taken for the process's.
func (t *pidTable) endTask(pid, tgid int32) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[tgid]
	if !ok {
		return pid == tgid
	}
	en := e.Value.(*entry)
	if en.threads == 0 || en.p.lossEpoch != t.epoch {
		return pid == tgid
	}
	if pid == tgid {
		en.leaderGone = true
	}
	if en.threads--; en.threads > 0 {
		return false
	}
	if !en.leaderGone {
		// More tasks ended than were counted: stop counting, and let the
		// leader's end be the process's.
		return false
	}
	return true
}

// takeThen removes the entry of pid and hands it (or nil) to then, with the
// current loss epoch, under the table's lock.
func (t *pidTable) takeThen(pid int32, then func(p *Process, epoch uint64)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.removeLocked(pid)
	if p == nil && t.gone != nil {
		t.gone[pid] = struct{}{}
	}
	then(p, t.epoch)
}

// lost records that the kernel lost events.
func (t *pidTable) lost() {
	t.mu.Lock()
	t.epoch++
	t.mu.Unlock()
}

// stats returns the number of entries and of evictions so far.
func (t *pidTable) stats() (size, evictions uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return uint64(len(t.m)), t.evictions
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
	for e := t.order.Front(); e != nil; e = e.Next() {
		entries = append(entries, e.Value.(*entry).p)
	}
	t.mu.Unlock()
	n := 0
	for _, p := range entries {
		if exists(p.PID) {
			continue
		}
		t.mu.Lock()
		if e, ok := t.m[p.PID]; ok && e.Value.(*entry).p == p {
			t.removeLocked(p.PID)
			n++
		}
		t.mu.Unlock()
	}
	return n
}
