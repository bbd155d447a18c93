//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

const (
	attrExeName     = "process.executable.name"
	attrArgsCount   = "process.args_count"
	attrTruncated   = "procmon.truncated"
	attrGroupLeader = "process.group_leader.pid"

	// maxCommandLine is the receiver's default max_command_line_length,
	// which testdata/e2e-collector.yaml keeps.
	maxCommandLine = 4096
	// hugeArg is one argument of the huge command line: below the kernel's
	// 128 KiB limit on a single argument (MAX_ARG_STRLEN).
	hugeArg = 100 << 10
	// hugeArgs arguments of hugeArg bytes make a command line of 1 MiB,
	// below ARG_MAX (a quarter of the 8 MiB stack limit).
	hugeArgs = 10
	// quickRuns is how many times the process that exits at once is run.
	quickRuns = 20
)

// TestHostileProcesses runs processes built to trip a /proc reader (a 1 MiB
// command line, a command name holding a newline and a ')', a binary
// deleted while it runs, processes gone before they can be read) and checks
// that each gets a well-formed exec and exit record.
func TestHostileProcesses(t *testing.T) { forEachSource(t, testHostileProcesses) }

func testHostileProcesses(t *testing.T, source string) {
	r := startReporting(t, source)
	col, logs := r.collector, r.logs

	dir, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	parent := int64(os.Getpid())

	// (a) sh with ten 100 KiB arguments; "; exit 0" keeps sh from
	// exec'ing sleep in its own pid, so the pid has one exec: sh's.
	shPath, err := filepath.EvalSymlinks("/bin/sh")
	require.NoError(t, err)
	args := []string{"-c", "sleep 0.2; exit 0"}
	for i := range hugeArgs {
		args = append(args, strings.Repeat(string(rune('a'+i)), hugeArg))
	}
	huge := exec.Command("/bin/sh", args...)
	require.NoError(t, huge.Run())

	// (b) the kernel sets comm from the file name at exec.
	oddName := "a)b\nc"
	odd := filepath.Join(dir, oddName)
	copyFile(t, "/bin/sleep", odd, 0o755)
	oddCmd := exec.Command(odd, "0.2")
	require.NoError(t, oddCmd.Run())

	// (c) Start returns once the exec has happened; the file goes while it runs.
	deleted := filepath.Join(dir, "procmon-deleted-sleep")
	copyFile(t, "/bin/sleep", deleted, 0o755)
	delCmd := exec.Command(deleted, "0.5")
	require.NoError(t, delCmd.Start())
	require.NoError(t, os.Remove(deleted))
	require.NoError(t, delCmd.Wait())

	// (d) /bin/true is often gone before its /proc entry is read.
	quick := copyTrue(t)
	var quickPIDs []int64
	for range quickRuns {
		pid, _ := runOnce(t, quick)
		quickPIDs = append(quickPIDs, pid)
	}

	hugePID, oddPID, delPID := int64(huge.Process.Pid), int64(oddCmd.Process.Pid), int64(delCmd.Process.Pid)
	all := append([]int64{hugePID, oddPID, delPID}, quickPIDs...)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		byPID := childRecords(logs, parent)
		for _, pid := range all {
			got := byPID[pid]
			if assert.NotNil(c, got, "no record for pid %d", pid) {
				assert.NotEmpty(c, got.execs, "no %s record for pid %d", eventExec, pid)
				assert.NotEmpty(c, got.exits, "no %s record for pid %d", eventExit, pid)
			}
		}
	}, 20*time.Second, 200*time.Millisecond)
	// Let any duplicate arrive before exactness is checked.
	time.Sleep(time.Second)
	byPID := childRecords(logs, parent)

	t.Run("whole record set", func(t *testing.T) {
		var n int
		for i, ld := range logs.AllLogs() {
			n += ld.LogRecordCount()
			js, err := new(plog.JSONMarshaler).MarshalLogs(ld)
			require.NoError(t, err)
			if !json.Valid(js) || !utf8.Valid(js) {
				t.Errorf("batch %d is not valid UTF-8 JSON:\n%s", i, js)
			}
		}
		forEachRecord(logs, func(r plog.LogRecord) { checkWellFormed(t, r) })
		t.Logf("%d records in %d batches are well-formed OTLP/JSON", n, len(logs.AllLogs()))
	})

	t.Run("1 MiB command line", func(t *testing.T) {
		got := checkPair(t, hugePID, byPID[hugePID], parent)
		want := "/bin/sh -c sleep 0.2; exit 0 aaaa"
		for _, r := range got {
			assert.Equal(t, maxCommandLine, argsBytes(r), "%s: bytes of %s", r.EventName(), attrCommandArgs)
			line := commandLine(r)
			assert.True(t, strings.HasPrefix(line, want), "%s: %s starts %q", r.EventName(), attrCommandArgs, line[:min(len(line), 64)])
			assert.True(t, boolAttr(r, attrTruncated), "%s: %s", r.EventName(), attrTruncated)
			assert.Equal(t, int64(3+hugeArgs), intAttr(r, attrArgsCount), "%s: %s", r.EventName(), attrArgsCount)
			assert.Equal(t, shPath, stringAttr(r, attrExePath), "%s: %s", r.EventName(), attrExePath)
		}
		checkJSON(t, recordsAsLogs(got), fmt.Sprintf("pid %d", hugePID))
	})

	t.Run("newline and parenthesis in comm", func(t *testing.T) {
		got := checkPair(t, oddPID, byPID[oddPID], parent)
		for _, r := range got {
			what := r.EventName()
			assert.Equal(t, odd, stringAttr(r, attrExePath), "%s: %s", what, attrExePath)
			assert.Equal(t, oddName, stringAttr(r, attrExeName), "%s: %s", what, attrExeName)
			assert.Equal(t, odd+" 0.2", commandLine(r), "%s: %s", what, attrCommandArgs)
			assert.False(t, boolAttr(r, attrTruncated), "%s: %s", what, attrTruncated)
			// The group leader comes from /proc/<pid>/stat, whose comm is "a)b\nc".
			assert.Equal(t, int64(syscall.Getpgrp()), intAttr(r, attrGroupLeader), "%s: %s", what, attrGroupLeader)
		}
		js := checkJSON(t, recordsAsLogs(got), fmt.Sprintf("pid %d", oddPID))
		assert.Contains(t, js, `a)b\nc`, "the newline is escaped in JSON")
	})

	t.Run("binary deleted after exec", func(t *testing.T) {
		got := checkPair(t, delPID, byPID[delPID], parent)
		for _, r := range got {
			// The kernel appends " (deleted)" to the link once the file is gone.
			path := stringAttr(r, attrExePath)
			assert.Contains(t, []string{deleted, deleted + " (deleted)"}, path, "%s: %s", r.EventName(), attrExePath)
			assert.Equal(t, deleted+" 0.5", commandLine(r), "%s: %s", r.EventName(), attrCommandArgs)
		}
		checkJSON(t, recordsAsLogs(got), fmt.Sprintf("pid %d", delPID))
		t.Logf("%s: %q", attrExePath, stringAttr(got[0], attrExePath))
	})

	t.Run("gone before it is read", func(t *testing.T) {
		unnamed := 0
		for _, pid := range quickPIDs {
			got := checkPair(t, pid, byPID[pid], parent)
			for _, r := range got {
				if path := stringAttr(r, attrExePath); path == "" {
					unnamed++
				} else {
					assert.Equal(t, quick, path, "%s pid %d: %s", r.EventName(), pid, attrExePath)
				}
			}
		}
		t.Logf("%d of %d records of %s have no %s", unnamed, 2*quickRuns, quick, attrExePath)
	})

	stopCollector(t, col)
}

// childRecords is recordsByPID without the records that name a parent other
// than parent. A host busy starting processes may reuse a pid of this test's
// within seconds; the reuser has another parent.
func childRecords(logs *consumertest.LogsSink, parent int64) map[int64]*pidRecords {
	byPID := recordsByPID(logs)
	other := func(r plog.LogRecord) bool {
		ppid := intAttr(r, attrParentPID)
		return ppid != -1 && ppid != parent
	}
	for pid, got := range byPID {
		got.execs = slices.DeleteFunc(got.execs, other)
		got.exits = slices.DeleteFunc(got.exits, other)
		if len(got.execs) == 0 && len(got.exits) == 0 {
			delete(byPID, pid)
		}
	}
	return byPID
}

// checkPair asserts that pid has exactly one exec and one exit record, each
// with its pid, the parent's pid, a code-0 exit and only well-formed
// attributes, and returns them.
func checkPair(t *testing.T, pid int64, got *pidRecords, parent int64) []plog.LogRecord {
	t.Helper()
	require.NotNil(t, got, "no record for pid %d", pid)
	require.Len(t, got.execs, 1, "%s records for pid %d", eventExec, pid)
	require.Len(t, got.exits, 1, "%s records for pid %d", eventExit, pid)
	recs := slices.Concat(got.execs, got.exits)
	for _, r := range recs {
		assert.Equal(t, pid, intAttr(r, attrPID), "%s pid %d: %s", r.EventName(), pid, attrPID)
		assert.Equal(t, parent, intAttr(r, attrParentPID), "%s pid %d: %s", r.EventName(), pid, attrParentPID)
		checkWellFormed(t, r)
	}
	assert.Equal(t, int64(0), intAttr(got.exits[0], attrExitCode), "exit pid %d: %s", pid, attrExitCode)
	return recs
}

// checkWellFormed asserts that every string of r (body, attributes, the
// elements of slice attributes) is valid UTF-8, and that the command line is
// bounded. It runs on every record the host produced, so it stays cheap.
func checkWellFormed(t *testing.T, r plog.LogRecord) {
	t.Helper()
	if body := r.Body().AsString(); !utf8.ValidString(body) {
		t.Errorf("%s: body %q is not UTF-8", r.EventName(), body)
	}
	for k, v := range r.Attributes().All() {
		switch v.Type() {
		case pcommon.ValueTypeStr:
			if !utf8.ValidString(v.Str()) {
				t.Errorf("%s: %s %q is not UTF-8", r.EventName(), k, v.Str())
			}
		case pcommon.ValueTypeSlice:
			for i, e := range v.Slice().All() {
				if s := e.AsString(); !utf8.ValidString(s) {
					t.Errorf("%s: %s[%d] %q is not UTF-8", r.EventName(), k, i, s)
				}
			}
		}
	}
	if n := argsBytes(r); n > maxCommandLine {
		t.Errorf("%s: %s hold %d bytes, more than %d", r.EventName(), attrCommandArgs, n, maxCommandLine)
	}
}

// checkJSON asserts that ld marshals to valid, UTF-8 OTLP/JSON that reads
// back to as many records, and returns the JSON. what names ld in messages.
func checkJSON(t *testing.T, ld plog.Logs, what string) string {
	t.Helper()
	js, err := new(plog.JSONMarshaler).MarshalLogs(ld)
	require.NoError(t, err)
	assert.True(t, json.Valid(js), "%s: not valid JSON", what)
	assert.True(t, utf8.Valid(js), "%s: JSON is not UTF-8", what)
	back, err := new(plog.JSONUnmarshaler).UnmarshalLogs(js)
	if assert.NoError(t, err, "%s: reading the JSON back", what) {
		assert.Equal(t, ld.LogRecordCount(), back.LogRecordCount(), "%s: records read back", what)
	}
	if t.Failed() {
		t.Logf("%s as OTLP/JSON:\n%s", what, js)
	}
	return string(js)
}

// recordsAsLogs copies records into one plog.Logs.
func recordsAsLogs(records []plog.LogRecord) plog.Logs {
	ld := plog.NewLogs()
	rs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, r := range records {
		r.CopyTo(rs.AppendEmpty())
	}
	return ld
}

// boolAttr returns r's bool attribute key, false when absent or not a bool.
func boolAttr(r plog.LogRecord, key string) bool {
	v, ok := r.Attributes().Get(key)
	return ok && v.Type() == pcommon.ValueTypeBool && v.Bool()
}
