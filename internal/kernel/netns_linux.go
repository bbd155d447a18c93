package kernel

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/vishvananda/netns"
)

// RootNetNS opens the root network namespace: that of pid 1 under procRoot.
// Where pid 1 refuses the look (it may hold capabilities the collector lacks,
// which makes its namespace files unreadable even to root), it falls back to
// kthreadd, pid 2: kernel threads always live in the initial namespaces.
func RootNetNS(procRoot string) (netns.NsHandle, error) {
	path := filepath.Join(procRoot, "1", "ns", "net")
	h, err := netns.GetFromPath(path)
	if err == nil {
		return h, nil
	}
	err = fmt.Errorf("opening the root network namespace %s: %w", path, err)
	if !errors.Is(err, fs.ErrPermission) || !isKthreadd(procRoot, 2) {
		return netns.None(), err
	}
	h, kerr := netns.GetFromPath(filepath.Join(procRoot, "2", "ns", "net"))
	if kerr != nil {
		return netns.None(), errors.Join(err, kerr)
	}
	return h, nil
}

// isKthreadd reports whether pid is the kernel's thread creator, and so a
// kernel thread in the initial namespaces.
func isKthreadd(procRoot string, pid int) bool {
	comm, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "comm"))
	return err == nil && string(comm) == "kthreadd\n"
}
