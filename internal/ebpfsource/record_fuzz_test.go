package ebpfsource

import (
	"bytes"
	"testing"

	"github.com/procmon-otel/procmon/internal/procevent"
)

// FuzzDecode feeds the decoder arbitrary records: it must never panic, and
// what it decodes must lie within the record.
func FuzzDecode(f *testing.F) {
	f.Add(execRecord(curl, execBytes{exe: "/usr/bin/curl", cwd: "/", cg: "/a", args: "curl\x00-s\x00", argc: 2}))
	f.Add(execRecord(curl, execBytes{flags: execExeDeleted | execArgsCut, exe: "/x", args: "a", argc: 9}))
	f.Add(record(recordExit, 0, 1, curl, 0, 1, 0, 0, 0, 0, 0, 0))
	f.Add(record(recordFork, 0, 1, curl))
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var d decoder
		var ev procevent.Event
		if err := d.decode(b, &ev); err != nil {
			return
		}
		c := ev.Content
		// A path may end in the " (deleted)" the decoder adds.
		for _, part := range [][]byte{c.Exe, c.Cwd, c.Cgroup, c.Args} {
			if part = bytes.TrimSuffix(part, []byte(deleted)); len(part) > 0 && !bytes.Contains(b, part) {
				t.Fatalf("decoded bytes %q are not in the record", part)
			}
		}
		if ev.Kind != procevent.KindExec && c.Have&^(1<<procevent.FieldStat) != 0 {
			t.Fatalf("a %s record claims %b", ev.Kind, c.Have)
		}
	})
}
