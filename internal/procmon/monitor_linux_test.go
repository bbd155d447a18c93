package procmon

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/procmon-otel/procmon/internal/procevent"
)

// tidLog records, at each Receive, the reader's thread and how many times the
// setup had run.
type tidLog struct {
	mu       sync.Mutex
	tids     []int
	setups   []int
	setupTID int
	nSetups  int
}

func (l *tidLog) setup() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nSetups++
	l.setupTID = unix.Gettid()
}

func (l *tidLog) receive() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tids = append(l.tids, unix.Gettid())
	l.setups = append(l.setups, l.nSetups)
}

func TestReaderSetupRunsOnReaderThread(t *testing.T) {
	var log tidLog
	m, op := newMonitor(t, Config{ProcRoot: newProcRoot(t).dir, ReaderSetup: log.setup,
		RestartBackoff: tick, MaxRestartBackoff: 5 * tick})
	op.onReceive = log.receive
	src1 := initialize(t, m, op)
	src1.sendEvents(t, execEvent(10, 1e9))
	src1.send(t, step{err: errors.New("recvmsg: connection reset")})
	src2 := op.source(t, 2)
	src2.sendEvents(t, execEvent(11, 2e9))
	m.Stop()

	log.mu.Lock()
	defer log.mu.Unlock()
	require.Equal(t, 1, log.nSetups, "set up once, not again on restart")
	require.GreaterOrEqual(t, len(log.tids), 3)
	for i, tid := range log.tids {
		require.Equal(t, 1, log.setups[i], "receive %d: the setup runs before the first read", i)
		require.Equal(t, log.setupTID, tid, "receive %d: every read runs on the thread that was set up", i)
	}
}

// TestInitialScanRacingExit: the initial scan runs beside the main loop, so a
// process it has read can exit before the scan records it. enqueue promises
// that an exec is never delivered after its own exit.
func TestInitialScanRacingExit(t *testing.T) {
	proc := newProcRoot(t)
	proc.add(4242, 1, 987654, "/usr/bin/sleep", "sleep", "1")
	// A FIFO for a command line holds the scan between reading and recording.
	cmdline := filepath.Join(proc.dir, "4242", "cmdline")
	require.NoError(t, os.Remove(cmdline))
	require.NoError(t, unix.Mkfifo(cmdline, 0o600))

	m, op := newMonitor(t, Config{ProcRoot: proc.dir, ScanExisting: true, Workers: 1})
	var rec recorder
	m.SubscribeExec(rec.record)
	m.SubscribeExit(rec.record)
	initDone := make(chan struct{})
	go func() {
		_ = m.Initialize()
		close(initDone)
	}()
	// The write end opens once the scan reads the command line.
	var w *os.File
	require.Eventually(t, func() bool {
		f, err := os.OpenFile(cmdline, os.O_WRONLY|unix.O_NONBLOCK, 0)
		w = f
		return err == nil
	}, waitFor, tick)
	op.source(t, 1).sendEvents(t, exitEvent(4242, 1, 9e9, 0))
	rec.wait(t, 1)
	_, err := w.WriteString("sleep\x001\x00")
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.Eventually(t, func() bool { return isClosed(initDone) }, waitFor, tick)
	m.Stop()

	evs := rec.all()
	require.Equal(t, procevent.KindExit, evs[0].Kind)
	require.Len(t, evs, 1, "no exec after the exit of the same process: %+v", evs)
	require.Nil(t, m.table.get(4242), "an exited process stays out of the table")
}
