package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// Status is the part of /proc/<pid>/status procmon uses.
type Status struct {
	Name       string // comm, with the kernel's \n and \\ escapes undone
	TGID, PPID int32
	UIDs, GIDs [4]uint32 // real, effective, saved, filesystem
}

// errStatus reports a status file that lacks a field procmon needs.
var errStatus = errors.New("malformed status")

// Status reads /proc/<pid>/status.
func (fs FS) Status(pid int32) (Status, error) { return fs.NewReader().Status(pid) }

// Status is FS.Status through r.
func (r *Reader) Status(pid int32) (Status, error) {
	raw, err := r.file(pid, "status")
	if err != nil {
		return Status{}, fmt.Errorf("reading the status of pid %d: %w", pid, err)
	}
	st, err := ParseStatus(raw)
	if err != nil {
		return Status{}, fmt.Errorf("parsing the status of pid %d: %w", pid, err)
	}
	return st, nil
}

// ParseStatus parses the contents of /proc/<pid>/status, stopping once it has every field it needs.
func ParseStatus(raw []byte) (Status, error) {
	var st Status
	seen := 0
	for len(raw) > 0 && seen != hasAll {
		var line []byte
		line, raw, _ = bytes.Cut(raw, []byte{'\n'})
		key, val, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		bit := statusField(key)
		if bit == 0 || seen&bit != 0 {
			continue // a field the kernel never repeats: the first one stands
		}
		var err error
		switch bit {
		case hasName:
			st.Name = unescapeName(val)
		case hasTGID:
			st.TGID, err = parseID(val)
		case hasPPID:
			st.PPID, err = parseID(val)
		case hasUIDs:
			st.UIDs, err = parseIDs(val)
		case hasGIDs:
			st.GIDs, err = parseIDs(val)
		}
		if err != nil {
			return Status{}, fmt.Errorf("%w: %s: %w", errStatus, key, err)
		}
		seen |= bit
	}
	for bit := hasName; bit < hasAll; bit <<= 1 {
		if seen&bit == 0 {
			return Status{}, fmt.Errorf("%w: no %s line", errStatus, statusKeys[bit])
		}
	}
	return st, nil
}

// The status fields ParseStatus needs, as bits of a set.
const (
	hasName = 1 << iota
	hasTGID
	hasPPID
	hasUIDs
	hasGIDs
	hasAll = hasName | hasTGID | hasPPID | hasUIDs | hasGIDs
)

// statusKeys names each field as the status file spells it.
var statusKeys = map[int]string{hasName: "Name", hasTGID: "Tgid", hasPPID: "PPid", hasUIDs: "Uid", hasGIDs: "Gid"}

// statusField returns the bit of the field named key, or 0 for a field procmon ignores.
func statusField(key []byte) int {
	switch string(key) {
	case "Name":
		return hasName
	case "Tgid":
		return hasTGID
	case "PPid":
		return hasPPID
	case "Uid":
		return hasUIDs
	case "Gid":
		return hasGIDs
	}
	return 0
}

// unescapeName undoes the kernel's escaping of the Name value, which follows a single tab.
func unescapeName(val []byte) string {
	if len(val) > 0 && val[0] == '\t' {
		val = val[1:]
	} else {
		val = bytes.TrimLeft(val, " \t")
	}
	if bytes.IndexByte(val, '\\') < 0 {
		return string(val)
	}
	out := make([]byte, 0, len(val))
	for i := 0; i < len(val); i++ {
		if val[i] == '\\' && i+1 < len(val) {
			switch val[i+1] {
			case 'n':
				out = append(out, '\n')
				i++
				continue
			case '\\':
				out = append(out, '\\')
				i++
				continue
			}
		}
		out = append(out, val[i])
	}
	return string(out)
}

// parseID parses a non-negative pid such as Tgid or PPid.
func parseID(val []byte) (int32, error) {
	v, err := strconv.ParseInt(string(bytes.TrimSpace(val)), 10, 32)
	if err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, fmt.Errorf("negative id %d", v)
	}
	return int32(v), nil
}

// parseIDs parses the four tab-separated ids of a Uid or Gid line.
func parseIDs(val []byte) ([4]uint32, error) {
	var ids [4]uint32
	for i := range ids {
		val = bytes.TrimLeft(val, " \t")
		end := bytes.IndexAny(val, " \t")
		if end < 0 {
			end = len(val)
		}
		if end == 0 {
			return ids, fmt.Errorf("%d ids, want 4", i)
		}
		v, err := strconv.ParseUint(string(val[:end]), 10, 32)
		if err != nil {
			return ids, err
		}
		ids[i] = uint32(v)
		val = val[end:]
	}
	if len(bytes.TrimSpace(val)) != 0 {
		return ids, errors.New("more than 4 ids")
	}
	return ids, nil
}
