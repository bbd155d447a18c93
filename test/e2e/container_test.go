//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/procmon-otel/procmon/internal/testutil"
)

// image is what `make image` builds.
const image = "localhost/otelcol-procmon:latest"

// agentCaps returns the capabilities that deploy/kubernetes/daemonset.yaml
// adds to its container, which the agent's container here gets too.
func agentCaps(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "kubernetes", "daemonset.yaml"))
	require.NoError(t, err)
	var ds appsv1.DaemonSet
	require.NoError(t, yaml.Unmarshal(raw, &ds))
	containers := ds.Spec.Template.Spec.Containers
	require.Len(t, containers, 1)
	sc := containers[0].SecurityContext
	require.True(t, sc != nil && sc.Capabilities != nil, "the DaemonSet's container names its capabilities")
	var caps []string
	for _, c := range sc.Capabilities.Add {
		caps = append(caps, string(c))
	}
	require.NotEmpty(t, caps)
	return caps
}

// workloadCommands are what the workload container runs, one after another,
// each as its own process: argv of each. Paths, so that the shell execs them
// rather than run a builtin. The netlink source reads a process's arguments
// from /proc after the exec, so these live long enough to be read; the eBPF
// source also gets a process that exits at once.
func workloadCommands(source string) [][]string {
	cmds := [][]string{
		{"/bin/sleep", "0.1"},
		{"/bin/sleep", "0.2"},
		{"/bin/sleep", "0.3"},
	}
	if source == sourceEBPF {
		cmds = append(cmds, []string{"/bin/true"})
	}
	return cmds
}

// podmanCmd is a podman command with args. Unless CONTAINERS_CONF names
// another, podman takes deploy/podman/containers.conf, as `make image` does.
func podmanCmd(t *testing.T, ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "podman", args...)
	if os.Getenv("CONTAINERS_CONF") == "" {
		cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+filepath.Join(repoRoot(t), "deploy", "podman", "containers.conf"))
	}
	return cmd
}

// podman runs podman with args and returns its standard output, trimmed.
func podman(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := podmanCmd(t, ctx, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "podman %s: %s", strings.Join(args, " "), stderr.String())
	return strings.TrimSpace(string(out))
}

// requireImage skips the test, or fails it in CI, unless podman and the
// image are there.
func requireImage(t *testing.T) {
	t.Helper()
	testutil.RequireRoot(t)
	if _, err := exec.LookPath("podman"); err != nil {
		testutil.SkipOrFail(t, "needs podman to run the image; make test installs it")
	}
	if err := podmanCmd(t, context.Background(), "image", "exists", image).Run(); err != nil {
		testutil.SkipOrFail(t, "needs the image "+image+"; make image builds it")
	}
}

// TestAgentInAContainer runs the image as the DaemonSet runs it (the host's
// PID and network namespaces, the host's /proc and /etc read-only under
// /host, the DaemonSet's capabilities and no others, a read-only root, and
// its configuration, source auto), runs a few commands in a second,
// ordinary container, and checks at an OTLP sink that each command's exec
// and exit arrive with its executable, its arguments and the container's id,
// and that a process of the host comes under a resource without one.
//
// podman's default seccomp profile admits bpf(2) and perf_event_open(2) only
// with CAP_SYS_ADMIN, so under it source auto takes the netlink source; with
// a profile that admits them it takes the eBPF source.
func TestAgentInAContainer(t *testing.T) { forEachSource(t, testAgentInAContainer) }

func testAgentInAContainer(t *testing.T, source string) {
	requireImage(t)
	logs, _, endpoint := startSink(t)
	var seccomp string
	if source == sourceEBPF {
		seccomp = seccompAllowingBPF(t)
	}
	agent := startAgent(t, endpoint, seccomp)
	probe := copyTrue(t)
	require.Eventually(t, func() bool {
		if !containerRunning(t, agent) {
			t.Fatalf("the agent container stopped:\n%s", podmanLogs(t, agent))
		}
		runOnce(t, probe)
		return sawExecOf(logs, probe)
	}, 60*time.Second, 500*time.Millisecond, "the agent never reported the host's probe")
	assert.Contains(t, podmanLogs(t, agent), `"source": "`+source+`"`, "source auto under this seccomp profile")

	// A host process: its records come under a resource without container.id.
	hostPID, _ := runOnce(t, probe)
	commands := workloadCommands(source)
	id := runWorkload(t, commands)
	t.Logf("%s: workload container %s", source, id[:12])

	var host plog.LogRecord
	found := map[string]*pidRecords{}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		byPID := recordsByPID(logs)
		got := byPID[hostPID]
		if assert.NotNil(c, got, "no records of host pid %d", hostPID) && assert.NotEmpty(c, got.execs) {
			host = got.execs[0]
		}
		found = workloadRecords(byPID, commands)
		for _, argv := range commands {
			key := strings.Join(argv, " ")
			if r := found[key]; assert.NotNil(c, r, "no exec of %q", key) {
				assert.NotEmpty(c, r.execs, "no exec of %q", key)
				assert.NotEmpty(c, r.exits, "no exit of %q", key)
			}
		}
	}, 30*time.Second, 250*time.Millisecond)

	res := resource(t, logs, host)
	_, hostHasID := res.Attributes().Get(attrContainerID)
	assert.False(t, hostHasID, "the host's probe came under a resource with %s", attrContainerID)
	for _, argv := range commands {
		key := strings.Join(argv, " ")
		for _, r := range slices.Concat(found[key].execs, found[key].exits) {
			what := r.EventName() + " " + key
			assert.Equal(t, "/bin/busybox", stringAttr(r, attrExePath), "%s: %s", what, attrExePath)
			assert.Equal(t, key, commandLine(r), "%s: %s", what, attrCommandArgs)
			got, _ := resource(t, logs, r).Attributes().Get(attrContainerID)
			assert.Equal(t, id, got.AsString(), "%s: resource %s", what, attrContainerID)
		}
	}
	podman(t, "stop", "--time", "10", agent)
}

// startAgent runs the image like the DaemonSet, sending to endpoint, under
// the seccomp profile at seccomp ("" for podman's default), and returns the
// container's name.
func startAgent(t *testing.T, endpoint, seccomp string) string {
	t.Helper()
	name := "procmon-e2e-agent"
	_ = podmanCmd(t, context.Background(), "rm", "--force", name).Run()
	args := []string{"run", "--detach", "--name", name,
		"--pid=host", "--network=host", "--read-only",
		"--volume=/proc:/host/proc:ro", "--volume=/etc:/host/etc:ro",
		"--cap-drop=all",
		"--env=OTLP_ENDPOINT=" + endpoint, "--env=K8S_NODE_NAME=e2e-node",
	}
	if seccomp != "" {
		args = append(args, "--security-opt=seccomp="+seccomp)
	}
	for _, c := range agentCaps(t) {
		args = append(args, "--cap-add="+c)
	}
	podman(t, append(args, image)...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agent container log:\n%s", podmanLogs(t, name))
		}
		_ = podmanCmd(t, context.Background(), "rm", "--force", name).Run()
	})
	return name
}

func containerRunning(t *testing.T, name string) bool {
	out, err := podmanCmd(t, context.Background(), "inspect", "--format", "{{.State.Running}}", name).Output()
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

func podmanLogs(t *testing.T, name string) string {
	out, _ := podmanCmd(t, context.Background(), "logs", name).CombinedOutput()
	return string(out)
}

// seccompAllowingBPF writes podman's default seccomp profile with bpf(2) and
// perf_event_open(2) admitted, and returns its path.
func seccompAllowingBPF(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("/usr/share/containers/seccomp.json")
	if err != nil {
		testutil.SkipOrFail(t, "needs podman's default seccomp profile: "+err.Error())
	}
	var profile struct {
		Syscalls []map[string]any `json:"syscalls"`
	}
	var all map[string]any
	require.NoError(t, json.Unmarshal(raw, &all))
	require.NoError(t, json.Unmarshal(raw, &profile))
	// Out of every rule (the default admits them only with CAP_SYS_ADMIN),
	// then admitted alone.
	bpf := []any{"bpf", "perf_event_open"}
	rules := make([]map[string]any, 0, len(profile.Syscalls)+1)
	for _, r := range profile.Syscalls {
		names, _ := r["names"].([]any)
		kept := slices.DeleteFunc(slices.Clone(names), func(n any) bool { return slices.Contains(bpf, n) })
		if len(kept) == 0 {
			continue
		}
		r["names"] = kept
		rules = append(rules, r)
	}
	all["syscalls"] = append(rules, map[string]any{"names": bpf, "action": "SCMP_ACT_ALLOW"})
	out, err := json.Marshal(all)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "seccomp-bpf.json")
	require.NoError(t, os.WriteFile(path, out, 0o644))
	return path
}

// runWorkload runs commands in an ordinary container made from a root
// holding only a static busybox, waits for it to end, and returns its id.
func runWorkload(t *testing.T, commands [][]string) string {
	t.Helper()
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		testutil.SkipOrFail(t, "needs a static busybox for the workload container; make test installs busybox-static")
	}
	root := t.TempDir()
	bin := filepath.Join(root, "bin")
	require.NoError(t, os.MkdirAll(bin, 0o755))
	copyFile(t, busybox, filepath.Join(bin, "busybox"), 0o755)
	for _, applet := range []string{"sh", "sleep", "true"} {
		require.NoError(t, os.Symlink("busybox", filepath.Join(bin, applet)))
	}
	// The shell would exec its last command in its own process: exit is last.
	script := ""
	for _, argv := range commands {
		script += strings.Join(argv, " ") + "; "
	}
	script += "exit 0"
	id := podman(t, "run", "--detach", "--rootfs", root, "/bin/sh", "-c", script)
	t.Cleanup(func() { _ = podmanCmd(t, context.Background(), "rm", "--force", id).Run() })
	podman(t, "wait", id)
	return id
}

// workloadRecords finds, among byPID, the records of the commands'
// processes by their arguments.
func workloadRecords(byPID map[int64]*pidRecords, commands [][]string) map[string]*pidRecords {
	found := map[string]*pidRecords{}
	for _, got := range byPID {
		for _, r := range got.execs {
			line := commandLine(r)
			for _, argv := range commands {
				if line == strings.Join(argv, " ") {
					found[line] = got
				}
			}
		}
	}
	return found
}
