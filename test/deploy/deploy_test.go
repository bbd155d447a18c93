// Package deploy checks the deployment files under deploy/: the Kubernetes
// manifests against the Kubernetes API's types (no cluster or network
// needed), the collector configurations they carry against the built
// collector, and the systemd unit with systemd-analyze.
package deploy

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/procmon-otel/procmon/internal/testutil"
)

// root is the repository root, two levels above this package.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(dir, "builder-config.yaml"))
	return dir
}

func k8sDir(t *testing.T) string { return filepath.Join(root(t), "deploy", "kubernetes") }

// documents splits a YAML stream into its documents.
func documents(t *testing.T, path string) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var docs [][]byte
	for _, d := range bytes.Split(raw, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

// decodeStrict decodes a manifest into out, refusing fields the Kubernetes
// type does not have: a misspelt or misplaced key fails here as it would
// fail `kubectl apply --validate=strict`.
func decodeStrict(t *testing.T, doc []byte, out any) {
	t.Helper()
	require.NoError(t, yaml.UnmarshalStrict(doc, out))
}

// manifests decodes every manifest that kustomization.yaml lists, by kind.
type manifests struct {
	daemonSets  []appsv1.DaemonSet
	deployments []appsv1.Deployment
	services    []corev1.Service
}

// kustomization is the part of kustomization.yaml procmon uses.
type kustomization struct {
	APIVersion         string   `json:"apiVersion"`
	Kind               string   `json:"kind"`
	Namespace          string   `json:"namespace"`
	Resources          []string `json:"resources"`
	ConfigMapGenerator []struct {
		Name  string   `json:"name"`
		Files []string `json:"files"`
	} `json:"configMapGenerator"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

func loadKustomization(t *testing.T) kustomization {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(k8sDir(t), "kustomization.yaml"))
	require.NoError(t, err)
	var k kustomization
	require.NoError(t, yaml.UnmarshalStrict(raw, &k))
	require.Equal(t, "kustomize.config.k8s.io/v1beta1", k.APIVersion)
	require.Equal(t, "Kustomization", k.Kind)
	return k
}

func loadManifests(t *testing.T) manifests {
	t.Helper()
	var m manifests
	for _, file := range loadKustomization(t).Resources {
		for _, doc := range documents(t, filepath.Join(k8sDir(t), file)) {
			var meta struct {
				Kind string `json:"kind"`
			}
			require.NoError(t, yaml.Unmarshal(doc, &meta))
			switch meta.Kind {
			case "DaemonSet":
				var d appsv1.DaemonSet
				decodeStrict(t, doc, &d)
				m.daemonSets = append(m.daemonSets, d)
			case "Deployment":
				var d appsv1.Deployment
				decodeStrict(t, doc, &d)
				m.deployments = append(m.deployments, d)
			case "Service":
				var s corev1.Service
				decodeStrict(t, doc, &s)
				m.services = append(m.services, s)
			default:
				t.Fatalf("%s: a %q, which this test does not check", file, meta.Kind)
			}
		}
	}
	return m
}

// TestKustomizationNamesItsFiles checks that every file kustomization.yaml
// names is there, and that every manifest and configuration under
// deploy/kubernetes is named by it.
func TestKustomizationNamesItsFiles(t *testing.T) {
	k := loadKustomization(t)
	named := slices.Clone(k.Resources)
	for _, g := range k.ConfigMapGenerator {
		for _, f := range g.Files {
			_, src, ok := strings.Cut(f, "=")
			require.True(t, ok, "configMapGenerator %s: %q is not key=file", g.Name, f)
			named = append(named, src)
		}
	}
	for _, f := range named {
		require.FileExists(t, filepath.Join(k8sDir(t), f))
	}
	all, err := filepath.Glob(filepath.Join(k8sDir(t), "*.yaml"))
	require.NoError(t, err)
	for _, f := range all {
		base := filepath.Base(f)
		if base != "kustomization.yaml" {
			require.Contains(t, named, base, "deploy/kubernetes/%s is not in kustomization.yaml", base)
		}
	}
}

// TestDaemonSetIsTheAgent checks the node agent's manifest for what the
// agent needs and what the deployment page promises.
func TestDaemonSetIsTheAgent(t *testing.T) {
	m := loadManifests(t)
	require.Len(t, m.daemonSets, 1)
	spec := m.daemonSets[0].Spec.Template.Spec
	require.True(t, spec.HostPID, "hostPID: the proc connector serves the initial PID namespace only")
	require.True(t, spec.HostNetwork, "hostNetwork: the proc connector answers in the root network namespace only")
	require.Len(t, spec.Containers, 1)
	c := spec.Containers[0]

	require.NotNil(t, c.SecurityContext)
	require.NotNil(t, c.SecurityContext.Capabilities)
	require.Equal(t, []corev1.Capability{"ALL"}, c.SecurityContext.Capabilities.Drop)
	require.ElementsMatch(t, []corev1.Capability{"SYS_PTRACE", "BPF", "PERFMON", "NET_ADMIN", "SYS_NICE"}, c.SecurityContext.Capabilities.Add)
	require.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)

	mounts := map[string]corev1.VolumeMount{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.MountPath] = vm
	}
	hostPaths := map[string]string{}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			hostPaths[v.Name] = v.HostPath.Path
		}
	}
	for path, host := range map[string]string{"/host/proc": "/proc", "/host/etc": "/etc"} {
		vm, ok := mounts[path]
		require.True(t, ok, "no mount at %s", path)
		require.True(t, vm.ReadOnly, "%s is mounted read-write", path)
		require.Equal(t, host, hostPaths[vm.Name], "%s is not the host's %s", path, host)
	}

	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	require.Equal(t, "spec.nodeName", env["K8S_NODE_NAME"].ValueFrom.FieldRef.FieldPath)
	limit := c.Resources.Limits.Memory().Value()
	gomem := parseMiB(t, env["GOMEMLIMIT"].Value)
	require.InDelta(t, 0.8, float64(gomem)/float64(limit), 0.05, "GOMEMLIMIT is not about 80%% of the memory limit")
	_, hasCPULimit := c.Resources.Limits[corev1.ResourceCPU]
	require.False(t, hasCPULimit, "a CPU limit throttles the reader")

	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	require.Equal(t, "health", c.LivenessProbe.HTTPGet.Port.StrVal)
	require.Equal(t, "health", c.ReadinessProbe.HTTPGet.Port.StrVal)
	require.Equal(t, int32(13133), ports["health"])
	require.NotEqual(t, int32(8888), ports["telemetry"], "8888 is often taken on a hostNetwork node")
}

// parseMiB parses a GOMEMLIMIT of the form <n>MiB into bytes.
func parseMiB(t *testing.T, s string) int64 {
	t.Helper()
	n, ok := strings.CutSuffix(s, "MiB")
	require.True(t, ok, "GOMEMLIMIT %q is not in MiB", s)
	v, err := strconv.ParseInt(n, 10, 64)
	require.NoError(t, err, "GOMEMLIMIT %q", s)
	return v << 20
}

// TestGatewayIsServed checks that the gateway Service reaches the gateway
// Deployment's OTLP port.
func TestGatewayIsServed(t *testing.T) {
	m := loadManifests(t)
	require.Len(t, m.deployments, 1)
	require.Len(t, m.services, 1)
	d, s := m.deployments[0], m.services[0]
	for k, v := range s.Spec.Selector {
		require.Equal(t, v, d.Spec.Template.Labels[k], "the Service selects pods the Deployment does not make")
	}
	require.Len(t, s.Spec.Ports, 1)
	var port int32
	for _, p := range d.Spec.Template.Spec.Containers[0].Ports {
		if p.Name == s.Spec.Ports[0].TargetPort.StrVal {
			port = p.ContainerPort
		}
	}
	require.Equal(t, int32(4317), port)
}

// TestConfigurationsValidate runs `otelcol-procmon validate` on the agent's
// and the gateway's configurations.
func TestConfigurationsValidate(t *testing.T) {
	bin := filepath.Join(root(t), "_build", "otelcol-procmon")
	if _, err := os.Stat(bin); err != nil {
		testutil.SkipOrFail(t, "collector not built; run 'make otelcol' first")
	}
	for _, file := range []string{"agent.yaml", "gateway.yaml"} {
		t.Run(file, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "validate", "--config", filepath.Join(k8sDir(t), file))
			cmd.Env = append(os.Environ(), "BACKEND_ENDPOINT=backend:4317")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
		})
	}
}

// TestDeploymentPageNamesTheFiles checks that docs/deployment.md names every
// deployment file, so that what it shows is what is shipped.
func TestDeploymentPageNamesTheFiles(t *testing.T) {
	page, err := os.ReadFile(filepath.Join(root(t), "docs", "deployment.md"))
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join(root(t), "deploy", "*", "*"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		rel, err := filepath.Rel(root(t), f)
		require.NoError(t, err)
		require.True(t, strings.Contains(string(page), rel), "docs/deployment.md does not name %s", rel)
	}
}

// TestSystemdUnitVerifies runs `systemd-analyze verify` on the unit, with
// ExecStart pointed at the built collector (verify checks that it is
// executable). Any warning fails the test.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze on this host: the unit is checked where systemd is")
	}
	bin := filepath.Join(root(t), "_build", "otelcol-procmon")
	if _, err := os.Stat(bin); err != nil {
		testutil.SkipOrFail(t, "collector not built; run 'make otelcol' first")
	}
	unit, err := os.ReadFile(filepath.Join(root(t), "deploy", "systemd", "otelcol-procmon.service"))
	require.NoError(t, err)
	for _, key := range []string{"EnvironmentFile=", "ExecReload=", "NoNewPrivileges=yes", "ProtectSystem=strict"} {
		require.Contains(t, string(unit), "\n"+key)
	}
	local := strings.ReplaceAll(string(unit), "/usr/local/bin/otelcol-procmon", bin)
	path := filepath.Join(t.TempDir(), "otelcol-procmon.service")
	require.NoError(t, os.WriteFile(path, []byte(local), 0o644))
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify warned")
}
