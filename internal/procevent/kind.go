package procevent

// Kind is the type of a kernel process event.
type Kind uint8

// The kinds of events a source reports. The zero Kind is none of them.
const (
	KindFork Kind = iota + 1
	KindExec
	KindExit
	KindUID
	KindGID
	KindSID
	KindPtrace
	KindComm
	KindCoredump
	// NumKinds bounds the kinds, for arrays indexed by Kind; not a kind itself.
	NumKinds
)

var kindNames = [NumKinds]string{"", "fork", "exec", "exit", "uid", "gid", "sid", "ptrace", "comm", "coredump"}

// String returns the kind's lower-case name, as used in configuration and
// metric attributes.
func (k Kind) String() string {
	if k > 0 && k < NumKinds {
		return kindNames[k]
	}
	return "unknown"
}

// Kinds returns every kind a Source may report, in order.
func Kinds() []Kind {
	ks := make([]Kind, 0, NumKinds-1)
	for k := KindFork; k < NumKinds; k++ {
		ks = append(ks, k)
	}
	return ks
}
