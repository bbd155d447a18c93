package netlinksource

// seqTracker keeps the last sequence number seen on each CPU. The kernel
// numbers proc events per CPU before it filters them per socket, so a jump
// counts exactly the events this monitor missed. It outlives each socket, so
// the events missed while a socket was being replaced are counted too.
type seqTracker struct {
	last []uint32
	seen []bool
}

// observe records seq for cpu and returns how many events were skipped.
func (t *seqTracker) observe(cpu, seq uint32) uint64 {
	if cpu >= 1<<16 {
		return 0 // not a real CPU number; never index with it
	}
	if int(cpu) >= len(t.last) {
		n := int(cpu) + 1
		t.last = append(t.last, make([]uint32, n-len(t.last))...)
		t.seen = append(t.seen, make([]bool, n-len(t.seen))...)
	}
	prev, seen := t.last[cpu], t.seen[cpu]
	t.last[cpu], t.seen[cpu] = seq, true
	if !seen {
		return 0
	}
	gap := seq - prev - 1 // wraps correctly at 2^32
	if gap >= 1<<31 {
		// Behind the last number: the counter was reset or the message
		// reordered; start again from here rather than count a huge loss.
		return 0
	}
	return uint64(gap)
}
