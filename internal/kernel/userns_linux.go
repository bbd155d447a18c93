package kernel

import (
	"bytes"
	"fmt"
	"os"
)

// InitialUserNS reports whether the calling process runs in the initial user
// namespace. Only there does uid_map map every id onto itself: a user
// namespace made by a container runtime maps a part of the range, never all
// 4294967295 ids.
func InitialUserNS() (bool, error) {
	raw, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false, fmt.Errorf("reading the collector's uid map: %w", err)
	}
	return isIdentityMap(raw), nil
}

// isIdentityMap reports whether a uid_map is the initial namespace's: one
// line mapping 0 onto 0 for 4294967295 ids.
func isIdentityMap(raw []byte) bool {
	fields := bytes.Fields(raw)
	return len(fields) == 3 && string(fields[0]) == "0" && string(fields[1]) == "0" && string(fields[2]) == "4294967295"
}
