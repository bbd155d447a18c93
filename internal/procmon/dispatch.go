package procmon

import (
	"time"

	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/internal/procfs"
)

// loopSink is the main loop's view of the source's output.
type loopSink struct {
	m  *Monitor
	rd *procfs.Reader // the main loop's
}

func (s loopSink) Lost(n uint64) {
	s.m.ctr.kernelLost.Add(n)
	s.m.table.lost()
}

func (s loopSink) Malformed() { s.m.ctr.malformed.Add(1) }

func (s loopSink) Event(ev *procevent.Event) {
	m := s.m
	if ev.Kind == 0 || ev.Kind >= procevent.NumKinds {
		m.ctr.malformed.Add(1) // a source that broke its contract
		return
	}
	m.ctr.events[ev.Kind].Add(1)
	switch ev.Kind {
	case procevent.KindExec:
		m.ctr.exec.Add(1)
		s.exec(ev)
	case procevent.KindExit:
		if !ev.GroupDead && !m.table.endTask(ev.PID, ev.TGID) {
			return // a task of a process that lives on
		}
		m.ctr.exit.Add(1)
		s.exit(ev)
	case procevent.KindFork:
		if ev.PID != ev.TGID {
			m.table.startThread(ev.TGID)
			return // a new thread, not a new process
		}
		if !m.tracking() {
			return
		}
		// A new process runs its parent's program until it execs; remember
		// that so that the exit of a child that never execs can name it.
		child := m.table.inherit(ev.PID, ev.ParentTGID, func(p *Process) {
			if ev.Content.Have.Has(procevent.FieldStat) {
				m.adoptStat(p, &ev.Content)
				p.Missing = p.Missing.Without(procevent.FieldStat)
			}
		})
		s.other(ev, child)
	default:
		if len(subscribers(&m.otherSubs)) > 0 {
			s.other(ev, m.table.get(ev.TGID))
		}
	}
}

func (s loopSink) exec(ev *procevent.Event) {
	m := s.m
	if !m.tracking() {
		return
	}
	p, _ := m.read(s.rd, ev.TGID, &ev.Content)
	if p.PPID == 0 {
		// Gone before its stat was read: its fork said who the parent was.
		if old := m.table.get(p.PID); old != nil {
			p.PPID = old.PPID
		}
	}
	m.nameParent(p)
	m.table.put(p, 1) // exec leaves one thread
	// Queued even with no exec subscriber: the worker reads the late fields
	// that the exit or other events of this process will carry.
	m.enqueue(&ProcessEvent{
		Kind:      procevent.KindExec,
		Time:      m.clock.fromMonotonic(ev.Timestamp),
		Observed:  time.Now(),
		CPU:       ev.CPU,
		Process:   p,
		ParentPID: p.PPID,
	})
}

func (s loopSink) exit(ev *procevent.Event) {
	m := s.m
	if !m.tracking() {
		return
	}
	notify := len(subscribers(&m.exitSubs)) > 0
	m.table.takeThen(ev.TGID, func(p *Process, epoch uint64) {
		if !notify {
			return
		}
		if p == nil || !m.sameProcess(p, epoch, &ev.Content) {
			p = &Process{PID: ev.TGID, PPID: ev.ParentTGID, Missing: procevent.AllFields, lateRead: true}
			if ev.Content.Have.Has(procevent.FieldStat) {
				// Unknown to the table, but its source says what it was.
				m.adoptStat(p, &ev.Content)
				p.Missing = p.Missing.Without(procevent.FieldStat)
			}
		}
		parent := p.PPID
		if parent == 0 {
			// The kernel's parent field is zero when the parent reaped the
			// child first, so it is only the fallback.
			parent = ev.ParentTGID
		}
		code, sig, core := decodeExitStatus(ev.ExitStatus)
		m.enqueue(&ProcessEvent{
			Kind:       procevent.KindExit,
			Time:       m.clock.fromMonotonic(ev.Timestamp),
			Observed:   time.Now(),
			CPU:        ev.CPU,
			Process:    p,
			ParentPID:  parent,
			ExitCode:   code,
			Signal:     sig,
			CoreDumped: core,
			Kernel:     kernelOnly(ev),
		})
	})
}

// sameProcess reports whether the exiting process is the one p describes.
// When the source says when the exiting process started (c), that tells.
// Otherwise, only after the kernel lost events since p was recorded can it be
// another one that reused the pid (its fork and exec lost); then the exiting
// process's start time, still readable at its exit, tells.
func (m *Monitor) sameProcess(p *Process, epoch uint64, c *procevent.Content) bool {
	if p.StartTicks == 0 {
		return true
	}
	if c.Have.Has(procevent.FieldStat) {
		if c.StartBoottime/(uint64(time.Second)/userHZ) == p.StartTicks {
			return true
		}
		m.ctr.pidReuse.Add(1)
		return false
	}
	if p.lossEpoch == epoch {
		return true
	}
	st, err := m.fs.Stat(p.PID)
	if err != nil || st.StartTicks == p.StartTicks {
		return true // reaped already: nothing says otherwise
	}
	m.ctr.pidReuse.Add(1)
	return false
}

// other queues a fork, comm, uid, gid, sid, ptrace or coredump event for the
// subscribers of those.
func (s loopSink) other(ev *procevent.Event, p *Process) {
	m := s.m
	if len(subscribers(&m.otherSubs)) == 0 {
		return
	}
	if p == nil {
		p = &Process{PID: ev.TGID, PPID: ev.ParentTGID, Missing: procevent.AllFields, lateRead: true}
	}
	m.enqueue(&ProcessEvent{
		Kind:      ev.Kind,
		Time:      m.clock.fromMonotonic(ev.Timestamp),
		Observed:  time.Now(),
		CPU:       ev.CPU,
		Process:   p,
		ParentPID: p.PPID,
		Kernel:    kernelOnly(ev),
	})
}

// kernelOnly copies what the kernel said of an event, without the content,
// whose bytes belong to the source and are gone after the sink's call.
func kernelOnly(ev *procevent.Event) procevent.Event {
	k := *ev
	k.Content = procevent.Content{}
	return k
}
