package kernel

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/vishvananda/netns"
)

// WithNS runs fn with the calling OS thread in the network namespace ns and
// returns the thread to its previous namespace afterwards, even when fn fails.
// The thread stays locked while it is elsewhere. When the thread is already in
// ns, no setns call is made.
func WithNS(ns netns.NsHandle, fn func() error) error {
	runtime.LockOSThread()
	prev, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("reading the current network namespace: %w", err)
	}
	defer prev.Close()

	if prev.Equal(ns) {
		defer runtime.UnlockOSThread()
		return fn()
	}
	if err := netns.Set(ns); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("entering network namespace %s: %w", ns, err)
	}
	fnErr := fn()
	if err := netns.Set(prev); err != nil {
		// The thread stays locked: Go ends a thread whose goroutine exits
		// while locked, so no other goroutine ever runs in the wrong namespace.
		return errors.Join(fnErr, fmt.Errorf("returning to network namespace %s: %w", prev, err))
	}
	runtime.UnlockOSThread()
	return fnErr
}

// WithRootNS runs fn in the root network namespace as seen through procRoot
// (usually /proc, or /host/proc in a container with the host's /proc mounted
// there). See RootNetNS for how the namespace is found.
func WithRootNS(procRoot string, fn func() error) error {
	root, err := RootNetNS(procRoot)
	if err != nil {
		return err
	}
	defer root.Close()
	return WithNS(root, fn)
}

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
