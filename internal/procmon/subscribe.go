package procmon

import (
	"sync"
	"sync/atomic"
)

// Callback receives exec or exit events. It runs on a worker goroutine and
// must not keep ev after it returns.
type Callback func(ev *ProcessEvent)

// subscription wraps a Callback so that it has an identity to unsubscribe.
type subscription struct{ fn Callback }

// SubscribeExec registers cb for exec events, including processes found by
// scans. It returns a function that unsubscribes. It may be called before or
// after Initialize.
func (m *Monitor) SubscribeExec(cb Callback) (unsubscribe func()) {
	return m.subscribe(&m.execSubs, cb)
}

// SubscribeExit registers cb for process exit events.
func (m *Monitor) SubscribeExit(cb Callback) (unsubscribe func()) {
	return m.subscribe(&m.exitSubs, cb)
}

// SubscribeOther registers cb for the other process events: fork of a new
// process, comm, uid, gid, sid, ptrace and coredump.
func (m *Monitor) SubscribeOther(cb Callback) (unsubscribe func()) {
	return m.subscribe(&m.otherSubs, cb)
}

func (m *Monitor) subscribe(list *atomic.Pointer[[]*subscription], cb Callback) func() {
	s := &subscription{fn: cb}
	m.subMu.Lock()
	defer m.subMu.Unlock()
	var next []*subscription
	if cur := list.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, s)
	list.Store(&next)
	var once sync.Once
	return func() {
		once.Do(func() {
			m.subMu.Lock()
			defer m.subMu.Unlock()
			cur := *list.Load()
			next := make([]*subscription, 0, len(cur))
			for _, o := range cur {
				if o != s {
					next = append(next, o)
				}
			}
			list.Store(&next)
		})
	}
}

func subscribers(list *atomic.Pointer[[]*subscription]) []*subscription {
	if p := list.Load(); p != nil {
		return *p
	}
	return nil
}

// tracking reports whether anyone needs the pid table.
func (m *Monitor) tracking() bool {
	return len(subscribers(&m.execSubs)) > 0 || len(subscribers(&m.exitSubs)) > 0 ||
		len(subscribers(&m.otherSubs)) > 0
}
