package procmon

import "testing"

// BenchmarkPidTable puts an entry at a process's exec and takes it at its
// exit, the table's work for every process, in an empty table and in one
// holding as many live processes as a busy host.
func BenchmarkPidTable(b *testing.B) {
	for _, bc := range []struct {
		name string
		live int
	}{{"empty", 0}, {"10k_live", 10000}} {
		b.Run(bc.name, func(b *testing.B) {
			tab := newPidTable(1 << 16)
			for i := range bc.live {
				tab.put(&Process{PID: int32(100000 + i)}, 1)
			}
			// Made up front so that the loop measures the table, not the allocator.
			procs := make([]*Process, 4096)
			for i := range procs {
				procs[i] = &Process{PID: int32(i + 1), Exe: "/usr/bin/true"}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				p := procs[i%len(procs)]
				tab.put(p, 1)
				if tab.take(p.PID) != p {
					b.Fatal("took another entry")
				}
				i++
			}
		})
	}
}
