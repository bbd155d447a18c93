package procmon

import (
	"time"

	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/internal/procfs"
)

// read describes pid: first from what its source captured (c, which may be
// empty), then from /proc for the rest, in the order that loses least to a
// process about to exit: the exe link, then stat (which a zombie still has),
// status and the command line. A field the source captured only in part is
// read from /proc too, and kept in part if that fails. The working directory
// and cgroup are left for the worker (readLate). ok is false when the process
// was gone before anything of it was known.
func (m *Monitor) read(rd *procfs.Reader, pid int32, c *procevent.Content) (p *Process, ok bool) {
	p = &Process{PID: pid}
	have := m.adopt(p, c)
	p.Missing = procevent.AllFields &^ have
	// A cut command line is not read again: the source cut it at the bound
	// the record's builder applies anyway.
	need := func(f procevent.Field) bool {
		return !have.Has(f) || p.Cut.Has(f) && f != procevent.FieldCmdline
	}
	// found records a field read from /proc; miss one that could not be,
	// counted unless the source had part of it.
	found := func(f procevent.Field) {
		p.Missing, p.Cut = p.Missing.Without(f), p.Cut.Without(f)
	}
	miss := func(f procevent.Field) {
		if !have.Has(f) {
			m.ctr.misses[f].Add(1)
		}
	}
	var exeErr error
	if need(procevent.FieldExe) {
		var exe string
		if exe, exeErr = rd.Exe(pid); exeErr == nil {
			p.Exe = exe
			found(procevent.FieldExe)
		}
	}
	if need(procevent.FieldStat) {
		if st, err := rd.Stat(pid); err == nil {
			p.PPID, p.StartTicks, p.Comm = st.PPID, st.StartTicks, st.Comm
			p.PGID, p.SID, p.Interactive = st.PGRP, st.Session, st.TTY != 0
			p.StartTime = m.clock.fromBoottime(st.StartTicks * (uint64(time.Second) / userHZ))
			found(procevent.FieldStat)
		} else {
			miss(procevent.FieldStat)
		}
	}
	switch {
	case exeErr == nil:
	case pid == kthreadd || p.PPID == kthreadd:
		// a kernel thread has no executable: not a miss
	default:
		miss(procevent.FieldExe)
	}
	if need(procevent.FieldStatus) {
		if status, err := rd.Status(pid); err == nil {
			p.UIDs, p.GIDs, p.IDsKnown = status.UIDs, status.GIDs, true
			found(procevent.FieldStatus)
		} else {
			miss(procevent.FieldStatus)
		}
	}
	if need(procevent.FieldCmdline) {
		if args, err := rd.Cmdline(pid); err == nil {
			p.Args, p.Argc = args, len(args)
			found(procevent.FieldCmdline)
		} else {
			miss(procevent.FieldCmdline)
		}
	}
	// The worker has nothing to read when the source brought both whole.
	p.lateRead = !need(procevent.FieldCwd) && !need(procevent.FieldCgroup)
	p.cgroupAtExec = !need(procevent.FieldCgroup)
	return p, p.Has(procevent.FieldExe) || p.Has(procevent.FieldStat)
}

// nameParent sets p's ParentName from the pid table, unless it is known.
func (m *Monitor) nameParent(p *Process) {
	if p.ParentName != "" || p.PPID <= 0 {
		return
	}
	if pp := m.table.get(p.PPID); pp != nil {
		p.ParentName = pp.Name()
	}
}

// readLate reads, on p's worker, the working directory and cgroup when its
// source did not bring them whole: a process that is gone by now would not
// have been named in time anyway. It runs once per entry, for the first event
// of it that the worker sees; the worker is the only one that touches these
// fields.
func (m *Monitor) readLate(rd *procfs.Reader, p *Process) {
	if p.lateRead {
		return
	}
	p.lateRead = true
	if p.Missing.Has(procevent.FieldCwd) || p.Cut.Has(procevent.FieldCwd) {
		if cwd, err := rd.Cwd(p.PID); err == nil {
			p.Cwd = cwd
			p.Missing, p.Cut = p.Missing.Without(procevent.FieldCwd), p.Cut.Without(procevent.FieldCwd)
		} else if p.Missing.Has(procevent.FieldCwd) {
			m.ctr.misses[procevent.FieldCwd].Add(1)
		}
	}
	if p.Missing.Has(procevent.FieldCgroup) || p.Cut.Has(procevent.FieldCgroup) {
		if cg, err := rd.Cgroup(p.PID); err == nil {
			p.Cgroup, p.ContainerID = cg, procfs.ContainerID(cg)
			p.Missing, p.Cut = p.Missing.Without(procevent.FieldCgroup), p.Cut.Without(procevent.FieldCgroup)
		} else if p.Missing.Has(procevent.FieldCgroup) {
			m.ctr.misses[procevent.FieldCgroup].Add(1)
		}
	}
}
