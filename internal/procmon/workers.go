package procmon

import (
	"time"

	"github.com/procmon-otel/procmon/internal/procevent"
)

func (m *Monitor) startWorkers() {
	m.workersUp = true
	m.queues = make([]chan *ProcessEvent, m.cfg.Workers)
	for i := range m.queues {
		q := make(chan *ProcessEvent, m.cfg.QueueSize)
		m.queues[i] = q
		m.busy.Add(1)
		go m.work(q)
	}
}

func (m *Monitor) stopWorkers() {
	if !m.workersUp {
		return
	}
	m.workersUp = false
	for _, q := range m.queues {
		close(q)
	}
	drained := make(chan struct{})
	go func() {
		m.busy.Wait()
		close(drained)
	}()
	select {
	case <-drained:
	case <-time.After(m.cfg.DrainTimeout):
		m.abandon.Store(true)
		<-drained
	}
}

// work runs the callbacks for the events of one queue.
func (m *Monitor) work(q chan *ProcessEvent) {
	defer m.busy.Done()
	rd := m.fs.NewReader()
	for ev := range q {
		if m.abandon.Load() {
			m.ctr.dropped[ev.Kind].Add(1)
			continue
		}
		m.readLate(rd, ev.Process)
		trackIDs(ev)
		list := &m.otherSubs
		switch ev.Kind {
		case procevent.KindExec:
			list = &m.execSubs
		case procevent.KindExit:
			list = &m.exitSubs
		}
		for _, s := range subscribers(list) {
			s.fn(ev)
			m.ctr.callbacksExecuted.Add(1)
		}
	}
}

// trackIDs fills a uid or gid event's previous ids and records its new ones.
// Only the process's worker calls it, so the entry's current ids need no lock.
func trackIDs(ev *ProcessEvent) {
	p, k := ev.Process, &ev.Kernel
	switch ev.Kind {
	case procevent.KindUID:
		ev.PrevIDs, ev.PrevKnown = p.curUIDs, p.curUIDsSet
		if !ev.PrevKnown && p.IDsKnown {
			ev.PrevIDs, ev.PrevKnown = [2]uint32{p.UIDs[0], p.UIDs[1]}, true
		}
		p.curUIDs, p.curUIDsSet = [2]uint32{k.RealID, k.EffectiveID}, true
	case procevent.KindGID:
		ev.PrevIDs, ev.PrevKnown = p.curGIDs, p.curGIDsSet
		if !ev.PrevKnown && p.IDsKnown {
			ev.PrevIDs, ev.PrevKnown = [2]uint32{p.GIDs[0], p.GIDs[1]}, true
		}
		p.curGIDs, p.curGIDsSet = [2]uint32{k.RealID, k.EffectiveID}, true
	}
}

// enqueue hands ev to its worker without waiting. Events of one pid always
// go to the same worker, so an exec is never delivered after its own exit.
// When the queue is full the event is dropped and counted.
func (m *Monitor) enqueue(ev *ProcessEvent) {
	q := m.queueOf(ev.Process.PID)
	if d := int64(len(q)); d > m.depth.Load() {
		m.depth.Store(d)
	}
	select {
	case q <- ev:
		return
	default:
	}
	m.ctr.dropped[ev.Kind].Add(1)
}

func (m *Monitor) queueOf(pid int32) chan *ProcessEvent {
	return m.queues[uint32(pid)%uint32(len(m.queues))]
}
