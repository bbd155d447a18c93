package procfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseCgroup(t *testing.T) {
	for _, tc := range []struct {
		name, raw, want string
	}{
		{"v2", "0::/system.slice/sshd.service\n", "/system.slice/sshd.service"},
		{"v2 root", "0::/\n", "/"},
		{"v2 no trailing newline", "0::/a", "/a"},
		{"v1 pids first", "5:memory:/m\n4:pids:/p\n2:cpu,cpuacct:/c\n1:name=systemd:/s\n", "/p"},
		{"v1 memory before cpu", "2:cpu,cpuacct:/c\n5:memory:/m\n1:name=systemd:/s\n", "/m"},
		{"v1 cpu in a list", "3:cpuset:/set\n2:cpuacct,cpu:/c\n1:name=systemd:/s\n", "/c"},
		{"v1 cpuset is not cpu", "3:cpuset:/set\n1:name=systemd:/s\n", "/set"},
		{"v1 first line otherwise", "1:name=systemd:/user.slice\n2:freezer:/f\n", "/user.slice"},
		{"mixed prefers v2", "4:pids:/p\n1:name=systemd:/s\n0::/system.slice/docker-x.scope\n", "/system.slice/docker-x.scope"},
		{"mixed with v2 and pids at the root", "4:pids:/\n7:memory:/process_api/bd18\n1:cpu:/\n0::/\n", "/process_api/bd18"},
		{"everything at the root", "4:pids:/\n7:memory:/\n0::/\n", "/"},
		{"mixed with v2 at the root, v1 memory", "9:name=systemd:/\n7:memory:/process_api/bd18\n0::/\n", "/process_api/bd18"},
		{"v2 at the root without v1 controllers", "1:name=systemd:/s\n0::/\n", "/"},
		{"path with a colon", "0::/a:b\n", "/a:b"},
		{"malformed lines skipped", "garbage\n:x:/nope\n\n0::/ok\n", "/ok"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, ParseCgroup([]byte(tc.raw)))
		})
	}
}

// cgroupFixtures maps each file under testdata/cgroup to the container id it holds, "" for none.
var cgroupFixtures = map[string]string{
	"docker_cgroupfs_v1":               "6318b4a60e95d7d920fcd7bb33e91a6ed88352fe2d353a50dd7470b10f630466",
	"docker_cgroupfs_v2":               "6318b4a60e95d7d920fcd7bb33e91a6ed88352fe2d353a50dd7470b10f630466",
	"docker_systemd_v1":                "45b90f2742599d22c4e65a7ddbf5261dba848206506a44716f939d6c0bd22ec5",
	"docker_systemd_v2":                "45b90f2742599d22c4e65a7ddbf5261dba848206506a44716f939d6c0bd22ec5",
	"docker_systemd_other_cgroupns_v2": "a89f73dd21bc735116e32f854daad4c551cf69cc37a9f90f708a1f8bb883f6e2",
	"hybrid_docker_cgroupfs":           "b1b91905f24b974ef614535d2a7a3b339b654572913e81ceacf12937c343692f",
	"hybrid_docker_systemd":            "a19dbcad5a35f2ff7dc1bf69c930a58d6d2c309341312c819bec74fa12774c96",
	"kubepods_cgroupfs_v1":             "4ed4d1c03824eaabf738981d7620e4e96856ad25d4e10e4681d48cfa36cbf040",
	"kubepods_cgroupfs_v2":             "4ed4d1c03824eaabf738981d7620e4e96856ad25d4e10e4681d48cfa36cbf040",
	"kubepods_containerd_systemd_v1":   "c45e7e0cf74cb809229414a4ef4796ebe8839fe4f04077d7982b8c8c812c8387",
	"kubepods_containerd_systemd_v2":   "c45e7e0cf74cb809229414a4ef4796ebe8839fe4f04077d7982b8c8c812c8387",
	"crio_systemd_v1":                  "494cc123c55bb3068cba676ab2709192f66752d7ef7543166a29d1fe8d028c27",
	"crio_systemd_v2":                  "494cc123c55bb3068cba676ab2709192f66752d7ef7543166a29d1fe8d028c27",
	"crio_cgroupfs_v1":                 "95ec8236307ba41d8036f1013b1c4a6733b8917abc210ca72606eb217cd1fc97",
	"crio_cgroupfs_v2":                 "95ec8236307ba41d8036f1013b1c4a6733b8917abc210ca72606eb217cd1fc97",
	"podman_systemd_v1":                "c03f9f5cd8952ecba0c1f7e3dd6ccbe938ab522674da2b6ecf316a875f61b7d8",
	"podman_systemd_v2":                "c03f9f5cd8952ecba0c1f7e3dd6ccbe938ab522674da2b6ecf316a875f61b7d8",
	"podman_container_v1":              "144c4072fcd3852b2eb77e52f2fd387ada8679f2fe2e1f666f915a2e40e61f73",
	"podman_container_v2":              "144c4072fcd3852b2eb77e52f2fd387ada8679f2fe2e1f666f915a2e40e61f73",
	"podman_cgroupfs_v1":               "04811c738a053f9390e69a449b5f3acfa945696ed06539eb14e391b18daf1c9b",
	"podman_cgroupfs_v2":               "04811c738a053f9390e69a449b5f3acfa945696ed06539eb14e391b18daf1c9b",
	"podman_conmon_v1":                 "",
	"podman_conmon_v2":                 "",
	"host_session_v1":                  "",
	"host_session_v2":                  "",
}

// TestCgroupFixtures reads every fixture through a fake /proc, as the receiver would.
func TestCgroupFixtures(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("testdata", "cgroup"))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.ElementsMatch(t, names, mapKeys(cgroupFixtures), "every fixture has an expected id, and every expected id a fixture")

	root := t.TempDir()
	fs := FS{Root: root}
	for i, name := range names {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "cgroup", name))
			require.NoError(t, err)
			pid := 100 + i
			writeProcFiles(t, root, pid, "", map[string]string{"cgroup": string(raw)})
			path, err := fs.Cgroup(int32(pid))
			require.NoError(t, err)
			require.NotEmpty(t, path)
			require.Equal(t, ParseCgroup(raw), path)
			require.Equal(t, cgroupFixtures[name], ContainerID(path), "cgroup path %q", path)
		})
	}

	_, err = fs.Cgroup(99)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.ErrorContains(t, err, "reading the cgroup of pid 99")
}

func mapKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

func TestContainerID(t *testing.T) {
	const id = "2c9d4f0b7e61a35d8c0f4b92e7a1d3c5b6f8e09a1b2c3d4e5f60718293a4b5c6"
	const other = "f00dfacefeedbeef0123456789abcdef0123456789abcdeffedcba9876543210"
	for _, tc := range []struct {
		name, path, want string
	}{
		{"docker cgroupfs", "/docker/" + id, id},
		{"docker systemd", "/system.slice/docker-" + id + ".scope", id},
		{"docker systemd, sub-cgroup of a systemd container", "/system.slice/docker-" + id + ".scope/init.scope", id},
		{"docker in docker gives the inner id", "/docker/" + other + "/docker/" + id, id},
		{"docker from another cgroup namespace", "/../../system.slice/docker-" + id + ".scope", id},
		{"kubepods cgroupfs", "/kubepods/burstable/pod0e2b9a4c-5d1f-4a3e-9b7c-8f6e5d4c3b2a/" + id, id},
		{"kubepods besteffort cgroupfs", "/kubepods/besteffort/pod0e2b9a4c-5d1f-4a3e-9b7c-8f6e5d4c3b2a/" + id, id},
		{"kubepods guaranteed cgroupfs", "/kubepods/pod0e2b9a4c-5d1f-4a3e-9b7c-8f6e5d4c3b2a/" + id, id},
		{"kubepods containerd systemd", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0e2b9a4c_5d1f_4a3e_9b7c_8f6e5d4c3b2a.slice/cri-containerd-" + id + ".scope", id},
		{"kubepods docker systemd", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0e2b9a4c_5d1f_4a3e_9b7c_8f6e5d4c3b2a.slice/docker-" + id + ".scope", id},
		{"crio systemd", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0e2b9a4c_5d1f_4a3e_9b7c_8f6e5d4c3b2a.slice/crio-" + id + ".scope", id},
		{"crio systemd container sub-cgroup", "/kubepods.slice/kubepods-pod0e2b9a4c_5d1f_4a3e_9b7c_8f6e5d4c3b2a.slice/crio-" + id + ".scope/container", id},
		{"crio cgroupfs", "/kubepods/burstable/pod0e2b9a4c-5d1f-4a3e-9b7c-8f6e5d4c3b2a/crio-" + id, id},
		{"podman systemd", "/machine.slice/libpod-" + id + ".scope", id},
		{"podman container sub-cgroup", "/machine.slice/libpod-" + id + ".scope/container", id},
		{"podman rootless", "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id + ".scope/container", id},
		{"podman cgroupfs", "/libpod_parent/libpod-" + id, id},
		{"podman pod cgroupfs", "/libpod_parent/" + other + "/libpod-" + id, id},
		{"podman pod systemd", "/machine.slice/machine-libpod_pod_" + other + ".slice/libpod-" + id + ".scope", id},
		{"no leading slash", "docker/" + id, id},
		{"bare id", id, id},

		{"podman conmon", "/machine.slice/libpod-conmon-" + id + ".scope", ""},
		{"podman pod conmon", "/machine.slice/machine-libpod_pod_" + other + ".slice/libpod-conmon-" + id + ".scope", ""},
		{"podman cgroupfs pod conmon", "/libpod_parent/" + other + "/conmon", ""},
		{"crio conmon", "/kubepods.slice/kubepods-pod0e2b9a4c_5d1f_4a3e_9b7c_8f6e5d4c3b2a.slice/crio-conmon-" + id + ".scope", ""},
		{"host session", "/user.slice/user-1000.slice/session-2.scope", ""},
		{"host service", "/system.slice/containerd.service", ""},
		{"kubepods pod cgroup", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0e2b9a4c_5d1f_4a3e_9b7c_8f6e5d4c3b2a.slice", ""},
		{"podman pod slice", "/machine.slice/machine-libpod_pod_" + other + ".slice", ""},
		{"root", "/", ""},
		{"empty", "", ""},
		{"upper-case hex", "/docker/" + strings.ToUpper(id), ""},
		{"63 chars", "/docker/" + id[:63], ""},
		{"65 chars", "/docker/" + id + "0", ""},
		{"not hex", "/docker/" + id[:63] + "g", ""},
		{"short docker id", "/docker/" + id[:12], ""},
		{"unknown runtime prefix", "/system.slice/rkt-" + id + ".scope", ""},
		{"32 hex chars", "/process_api/bd1894921eb5ecae84c59d468cdb6b82", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, ContainerID(tc.path))
		})
	}
}

func FuzzParseCgroup(f *testing.F) {
	for _, name := range mapKeys(cgroupFixtures) {
		if raw, err := os.ReadFile(filepath.Join("testdata", "cgroup", name)); err == nil {
			f.Add(raw)
		}
	}
	f.Add([]byte("0::/\n4:pids:/p\n"))
	f.Add([]byte("::\n:::\n0::"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		path := ParseCgroup(raw)
		require.True(t, strings.Contains(string(raw), path), "%q is not in the input", path)
		require.NotContains(t, path, "\n")
	})
}

func FuzzContainerID(f *testing.F) {
	for _, id := range cgroupFixtures {
		f.Add("/docker/" + id)
		f.Add("/system.slice/docker-" + id + ".scope")
		f.Add("/machine.slice/libpod-conmon-" + id + ".scope")
		f.Add("/kubepods/burstable/pod1/crio-" + id + ".scope/container")
	}
	f.Add("/user.slice/user-1000.slice/session-2.scope")
	f.Add("")
	f.Fuzz(func(t *testing.T, path string) {
		id := ContainerID(path)
		if id == "" {
			return
		}
		require.Len(t, id, 64)
		for _, c := range id {
			require.True(t, c >= '0' && c <= '9' || c >= 'a' && c <= 'f', "%q is not lower-case hex", id)
		}
		require.Contains(t, path, id)
	})
}
