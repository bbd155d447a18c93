package procfs

import (
	"fmt"
	"strings"
)

// Cgroup returns the process's cgroup path: the cgroup v2 entry ("0::/path") when present, else the v1 line of the "pids" or "memory" or "cpu" controller (in that order, passing over "/" while a deeper one exists), else the first line's path.
func (fs FS) Cgroup(pid int32) (string, error) { return fs.NewReader().Cgroup(pid) }

// Cgroup is FS.Cgroup through r.
func (r *Reader) Cgroup(pid int32) (string, error) {
	raw, err := r.file(pid, "cgroup")
	if err != nil {
		return "", fmt.Errorf("reading the cgroup of pid %d: %w", pid, err)
	}
	return ParseCgroup(raw), nil
}

// cgroupV1Preferred lists the v1 controllers whose path stands for the process, best first.
var cgroupV1Preferred = [...]string{"pids", "memory", "cpu"}

// ParseCgroup picks the path Cgroup returns from the contents of /proc/<pid>/cgroup, or "" when no line is well formed.
func ParseCgroup(raw []byte) string {
	// Candidates best first: the v2 entry, then cgroupV1Preferred.
	var (
		paths   [1 + len(cgroupV1Preferred)]string
		found   [len(paths)]bool
		first   string
		sawLine bool
	)
	for rest := string(raw); rest != ""; {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		// hierarchy-ID:controller-list:path, and the path may hold colons.
		id, tail, ok := strings.Cut(line, ":")
		if !ok || id == "" {
			continue
		}
		controllers, path, ok := strings.Cut(tail, ":")
		if !ok {
			continue
		}
		if !sawLine {
			first, sawLine = path, true
		}
		if id == "0" && controllers == "" {
			if !found[0] {
				paths[0], found[0] = path, true
			}
			continue
		}
		for c := range strings.SplitSeq(controllers, ",") {
			for i, want := range cgroupV1Preferred {
				if c == want && !found[1+i] {
					paths[1+i], found[1+i] = path, true
				}
			}
		}
	}
	// A path of "/" tells nothing when another hierarchy places the process deeper, as on a hybrid host.
	for i, p := range paths {
		if found[i] && p != "/" {
			return p
		}
	}
	for i, p := range paths {
		if found[i] {
			return p
		}
	}
	return first
}

// containerPrefixes are the runtime prefixes of a cgroup directory named after a container.
var containerPrefixes = [...]string{"docker-", "cri-containerd-", "crio-", "libpod-"}

// ContainerID extracts a container id (64 lowercase hex chars) from a cgroup path, or "" for a host or conmon cgroup.
func ContainerID(cgroupPath string) string {
	// The innermost directory named after a container wins, so nested runtimes give the inner id.
	for path := cgroupPath; path != ""; {
		seg := path
		if i := strings.LastIndexByte(path, '/'); i >= 0 {
			seg, path = path[i+1:], path[:i]
		} else {
			path = ""
		}
		// conmon supervises a podman or CRI-O container from outside it.
		if seg == "conmon" || strings.HasPrefix(seg, "libpod-conmon-") || strings.HasPrefix(seg, "crio-conmon-") {
			return ""
		}
		seg = strings.TrimSuffix(seg, ".scope")
		for _, p := range containerPrefixes {
			if s, ok := strings.CutPrefix(seg, p); ok {
				seg = s
				break
			}
		}
		if isContainerID(seg) {
			return seg
		}
	}
	return ""
}

// isContainerID reports whether s is 64 lowercase hex digits.
func isContainerID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
