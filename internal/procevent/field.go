package procevent

// Field names a part of what is known of a process, after the /proc/<pid>
// file the monitor reads it from when its source did not bring it.
type Field uint8

// The fields, in the order the monitor reads them: what a process about to
// exit takes with it first comes first.
const (
	// FieldExe is the executable's path (/proc/<pid>/exe).
	FieldExe Field = iota
	// FieldStat is the parent, process group, session, terminal, start time
	// and command name (/proc/<pid>/stat).
	FieldStat
	// FieldStatus is the user and group ids (/proc/<pid>/status).
	FieldStatus
	// FieldCmdline is the arguments (/proc/<pid>/cmdline).
	FieldCmdline
	// FieldCwd is the working directory (/proc/<pid>/cwd).
	FieldCwd
	// FieldCgroup is the cgroup path (/proc/<pid>/cgroup).
	FieldCgroup
	// NumFields is the number of fields; not a field itself.
	NumFields
)

var fieldNames = [NumFields]string{"exe", "stat", "status", "cmdline", "cwd", "cgroup"}

// String returns the field's name, as used in the misses metric.
func (f Field) String() string {
	if f < NumFields {
		return fieldNames[f]
	}
	return "unknown"
}

// Fields is a set of Field, bit 1<<f for field f.
type Fields uint8

// AllFields holds every field.
const AllFields = Fields(1<<NumFields - 1)

// Has reports whether f is in the set.
func (s Fields) Has(f Field) bool { return s&(1<<f) != 0 }

// With returns the set with f added.
func (s Fields) With(f Field) Fields { return s | 1<<f }

// Without returns the set with f removed.
func (s Fields) Without(f Field) Fields { return s &^ (1 << f) }
