package procmon

import (
	"bytes"
	"time"

	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/internal/procfs"
)

// adopt copies into p what the source captured of it, and returns the set of
// fields it filled. p.Cut records which of them hold only a prefix.
func (m *Monitor) adopt(p *Process, c *procevent.Content) procevent.Fields {
	have := c.Have
	if have == 0 {
		return 0
	}
	if have.Has(procevent.FieldExe) {
		p.Exe = string(c.Exe)
	}
	if have.Has(procevent.FieldStat) {
		m.adoptStat(p, c)
	}
	if have.Has(procevent.FieldStatus) {
		p.UIDs, p.GIDs, p.IDsKnown = c.UIDs, c.GIDs, true
	}
	if have.Has(procevent.FieldCmdline) {
		p.Args, p.Argc = splitArgs(c.Args, c.Argc), c.Argc
	}
	if have.Has(procevent.FieldCwd) {
		p.Cwd = string(c.Cwd)
	}
	if have.Has(procevent.FieldCgroup) {
		p.Cgroup = string(c.Cgroup)
		p.ContainerID = procfs.ContainerID(p.Cgroup)
	}
	p.Cut = c.Cut & have
	return have
}

// adoptStat copies the fields of /proc/<pid>/stat that c holds.
func (m *Monitor) adoptStat(p *Process, c *procevent.Content) {
	p.PPID, p.PGID, p.SID, p.Interactive = c.PPID, c.PGID, c.SID, c.TTY
	p.StartTicks = c.StartBoottime / (uint64(time.Second) / userHZ)
	p.StartTime = m.clock.fromBoottime(c.StartBoottime)
	p.Comm = commString(c.Comm[:])
}

// commString returns a NUL-padded command name as a string.
func commString(comm []byte) string {
	if i := bytes.IndexByte(comm, 0); i >= 0 {
		comm = comm[:i]
	}
	return string(comm)
}

// splitArgs splits argc NUL-terminated arguments, keeping empty ones (an
// empty last argument too), into strings that share one allocation. A last
// argument without its NUL was cut and is kept as it is.
func splitArgs(raw []byte, argc int) []string {
	args := make([]string, 0, min(argc, bytes.Count(raw, []byte{0})+1))
	all := string(raw)
	for len(args) < argc && all != "" {
		i := 0
		for i < len(all) && all[i] != 0 {
			i++
		}
		args = append(args, all[:i])
		if i == len(all) {
			break
		}
		all = all[i+1:]
	}
	return args
}
