package procmon

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/internal/procfs"
)

// scan reports every running process not yet known to the exec subscribers.
func (m *Monitor) scan(kind ScanKind) error {
	pids, err := m.fs.PIDs()
	if err != nil {
		m.ctr.scanFailures.Add(1)
		return fmt.Errorf("%w: %w", ErrScan, err)
	}
	m.table.beginScan()
	defer m.table.endScan()
	now := time.Now()
	rd := m.fs.NewReader()
	// Read everything first, so that every process's parent is known
	// whatever the order of the pids.
	found := make(map[int32]*Process, len(pids))
	var none procevent.Content // a scan has only /proc to go by
	for _, pid := range pids {
		if m.ctx.Err() != nil {
			return nil
		}
		if p, ok := m.read(rd, pid, &none); ok {
			// A process running for a while may have retitled itself.
			p.Args = procfs.TrimPadding(p.Args)
			if p.Args != nil {
				p.Argc = len(p.Args)
			}
			found[pid] = p
		}
	}
	for _, pid := range pids {
		p := found[pid]
		if p == nil {
			continue
		}
		if pp := found[p.PPID]; pp != nil {
			p.ParentName = pp.Name()
		}
		m.nameParent(p)
		if kind == InitialScan && !m.waitForRoom(pid) {
			m.ctr.dropped[procevent.KindExec].Add(1) // stopped before it found room
			return nil
		}
		ev := &ProcessEvent{Kind: procevent.KindExec, Scan: kind, Time: p.StartTime, Observed: now, Process: p, ParentPID: p.PPID}
		// Recording and queueing at once, under the table's lock, orders
		// this exec before the exit of the same process, which the main
		// loop takes and queues under the same lock.
		m.table.addIfNewThen(p, func() { m.enqueue(ev) })
	}
	return nil
}

func (m *Monitor) rescan() {
	if len(subscribers(&m.execSubs)) == 0 {
		return
	}
	if err := m.scan(Rescan); err != nil {
		m.log.Warn("scanning /proc after a source restart failed", zap.Error(err))
	}
}

// waitForRoom waits until pid's worker queue has room, or Stop; it returns
// false on Stop.
func (m *Monitor) waitForRoom(pid int32) bool {
	q := m.queueOf(pid)
	for len(q) == cap(q) {
		select {
		case <-m.ctx.Done():
			return false
		case <-time.After(time.Millisecond):
		}
	}
	return true
}
