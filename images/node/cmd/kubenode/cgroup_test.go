package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run the cgroup code on fake cgroupfs trees of plain files and
// directories. The kernel's side is simulated where a test needs it: files a
// mkdir would create (cpuset.cpus) are made by the test, and writes to
// cgroupfs files are recorded (a plain file would keep only the last one).

// fakeCgroupfs makes a tree under a temporary directory: a path ending in "/"
// is a directory, "a -> b" a symbolic link, anything else a file.
func fakeCgroupfs(t *testing.T, entries map[string]string) string {
	t.Helper()
	mount := t.TempDir()
	for path, content := range entries {
		full := filepath.Join(mount, path)
		switch {
		case strings.HasSuffix(path, "/"):
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(content, "-> "):
			if err := os.Symlink(strings.TrimPrefix(content, "-> "), full); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return mount
}

// recorder records the writes to cgroupfs files as "path value", the path
// relative to the mount; refuse makes the writes it names fail.
type recorder struct {
	mount  string
	writes []string
	refuse map[string]syscall.Errno
}

func (r *recorder) cgroupfs() cgroupfs {
	return cgroupfs{mount: r.mount, write: func(path, value string) error {
		rel, err := filepath.Rel(r.mount, path)
		if err != nil {
			return err
		}
		w := rel + " " + value
		r.writes = append(r.writes, w)
		if errno, ok := r.refuse[w]; ok {
			return &fs.PathError{Op: "write", Path: path, Err: errno}
		}
		return nil
	}}
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func enabling(dir string, controllers ...string) []string {
	var writes []string
	for _, c := range controllers {
		writes = append(writes, filepath.Join(dir, "cgroup.subtree_control")+" +"+c)
	}
	return writes
}

// A hybrid host (this project's machines): every v1 hierarchy gets the root and
// cpuset its CPUs and memory nodes; unified (cgroup v2 with no controllers) gets
// the directories as before and nothing else; nothing is written the v2 way.
func TestCgroupRootV1Hybrid(t *testing.T) {
	mount := fakeCgroupfs(t, map[string]string{
		"cpuset/cgroup.procs": "",
		"cpuset/cpuset.cpus":  "0-3\n",
		"cpuset/cpuset.mems":  "0\n",
		// What the kernel creates with each new cpuset cgroup: empty sets.
		"cpuset/storage-conformance/cpuset.cpus":        "",
		"cpuset/storage-conformance/cpuset.mems":        "",
		"cpuset/storage-conformance/node-1/cpuset.cpus": "",
		"cpuset/storage-conformance/node-1/cpuset.mems": "",
		"memory/cgroup.procs":                           "",
		"cpu,cpuacct/cgroup.procs":                      "",
		"cpu":                                           "-> cpu,cpuacct",
		"systemd/cgroup.procs":                          "",
		"unified/cgroup.procs":                          "",
		"unified/cgroup.controllers":                    "",
		"unified/cgroup.subtree_control":                "",
	})
	r := &recorder{mount: mount}
	self := "12:cpuset:/\n4:memory:/\n1:name=systemd:/init.scope\n0::/init.scope\n"
	if err := r.cgroupfs().createRoot(self, cgroupRoot("node-1")); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"cpuset", "memory", "cpu,cpuacct", "systemd", "unified"} {
		if !isDir(filepath.Join(mount, h, "storage-conformance/node-1")) {
			t.Errorf("%s/storage-conformance/node-1 was not created", h)
		}
	}
	for _, f := range []string{"storage-conformance/cpuset.cpus", "storage-conformance/node-1/cpuset.cpus"} {
		if got := read(t, filepath.Join(mount, "cpuset", f)); got != "0-3\n" {
			t.Errorf("cpuset/%s = %q, want the parent's 0-3", f, got)
		}
	}
	if got := read(t, filepath.Join(mount, "cpuset/storage-conformance/node-1/cpuset.mems")); got != "0\n" {
		t.Errorf("cpuset.mems = %q, want the parent's 0", got)
	}
	entries, err := os.ReadDir(filepath.Join(mount, "unified/storage-conformance/node-1"))
	if err != nil || len(entries) != 0 {
		t.Errorf("unified/storage-conformance/node-1 holds %v (%v), want nothing (no cpuset there)", entries, err)
	}
	if isDir(filepath.Join(mount, "storage-conformance")) || isDir(filepath.Join(mount, "init")) {
		t.Error("a v1 host got cgroups at the mount's top, as if it were v2")
	}
	if len(r.writes) != 0 || read(t, filepath.Join(mount, "unified/cgroup.subtree_control")) != "" {
		t.Errorf("a v1 host got v2 writes: %v", r.writes)
	}

	r.cgroupfs().remove(cgroupRoot("node-1"))
	for _, h := range []string{"memory", "cpu,cpuacct", "systemd", "unified"} {
		if isDir(filepath.Join(mount, h, "storage-conformance")) {
			t.Errorf("%s/storage-conformance was not removed", h)
		}
	}
}

// A v2 host, node container with a private cgroup namespace (its processes sit
// in the namespace's root): they move to /init, one pid a write, and every
// controller is enabled, one a write; then kubelet's are enabled at each level
// down to the pods' root.
func TestCgroupRootV2PrivateNamespace(t *testing.T) {
	mount := fakeCgroupfs(t, map[string]string{
		"cgroup.controllers":     "cpuset cpu io memory hugetlb pids rdma misc\n",
		"cgroup.subtree_control": "",
		"cgroup.procs":           "1\n23\n0\n45\n",
	})
	r := &recorder{mount: mount, refuse: map[string]syscall.Errno{
		"init/cgroup.procs 23":         syscall.ESRCH,  // exited since cgroup.procs was read
		"cgroup.subtree_control +rdma": syscall.EINVAL, // refused: reported, the others still enabled
	}}
	if err := r.cgroupfs().createRoot("0::/\n", cgroupRoot("node-1")); err != nil {
		t.Fatal(err)
	}
	kubelets := []string{"cpuset", "cpu", "io", "memory", "hugetlb", "pids"}
	want := []string{"init/cgroup.procs 1", "init/cgroup.procs 23", "init/cgroup.procs 45"}
	want = append(want, enabling(".", "rdma", "misc")...)
	want = append(want, enabling(".", kubelets...)...)
	want = append(want, enabling("storage-conformance", kubelets...)...)
	want = append(want, enabling("storage-conformance/node-1", kubelets...)...)
	if !reflect.DeepEqual(r.writes, want) {
		t.Errorf("writes:\n%s\nwant:\n%s", strings.Join(r.writes, "\n"), strings.Join(want, "\n"))
	}
	for _, d := range []string{"init", "storage-conformance/node-1"} {
		if !isDir(filepath.Join(mount, d)) {
			t.Errorf("%s was not created", d)
		}
	}
}

// With the host's cgroup namespace nothing is evacuated (the mount's root holds
// the host's processes) and only kubelet's controllers are enabled.
func TestCgroupRootV2HostNamespace(t *testing.T) {
	mount := fakeCgroupfs(t, map[string]string{
		"cgroup.controllers":     "cpuset cpu io memory hugetlb pids rdma misc\n",
		"cgroup.subtree_control": "cpu io memory pids\n",
		"cgroup.procs":           "1\n",
	})
	r := &recorder{mount: mount}
	if err := r.cgroupfs().createRoot("0::/system.slice/docker-0123abcd.scope\n", cgroupRoot("node-1")); err != nil {
		t.Fatal(err)
	}
	kubelets := []string{"cpuset", "cpu", "io", "memory", "hugetlb", "pids"}
	want := enabling(".", kubelets...)
	want = append(want, enabling("storage-conformance", kubelets...)...)
	want = append(want, enabling("storage-conformance/node-1", kubelets...)...)
	if !reflect.DeepEqual(r.writes, want) {
		t.Errorf("writes:\n%s\nwant:\n%s", strings.Join(r.writes, "\n"), strings.Join(want, "\n"))
	}
	if isDir(filepath.Join(mount, "init")) {
		t.Error("init was created: the host's processes would have been moved")
	}
	if !isDir(filepath.Join(mount, "storage-conformance/node-1")) {
		t.Error("storage-conformance/node-1 was not created")
	}
}

// Controllers the host does not have are not asked for.
func TestCgroupRootV2MissingControllers(t *testing.T) {
	mount := fakeCgroupfs(t, map[string]string{
		"cgroup.controllers":     "cpu memory pids\n",
		"cgroup.subtree_control": "",
		"cgroup.procs":           "1\n",
	})
	r := &recorder{mount: mount}
	if err := r.cgroupfs().createRoot("0::/\n", cgroupRoot("node-1")); err != nil {
		t.Fatal(err)
	}
	want := []string{"init/cgroup.procs 1"}
	want = append(want, enabling(".", "cpu", "memory", "pids")...)
	want = append(want, enabling("storage-conformance", "cpu", "memory", "pids")...)
	want = append(want, enabling("storage-conformance/node-1", "cpu", "memory", "pids")...)
	if !reflect.DeepEqual(r.writes, want) {
		t.Errorf("writes:\n%s\nwant:\n%s", strings.Join(r.writes, "\n"), strings.Join(want, "\n"))
	}
}

// A read-only cgroupfs ends the start with the file and the fix, after trying
// every controller.
func TestCgroupRootV2ReadOnly(t *testing.T) {
	mount := fakeCgroupfs(t, map[string]string{
		"cgroup.controllers":     "cpu memory\n",
		"cgroup.subtree_control": "",
		"cgroup.procs":           "1\n",
	})
	r := &recorder{mount: mount, refuse: map[string]syscall.Errno{
		"cgroup.subtree_control +cpu":    syscall.EROFS,
		"cgroup.subtree_control +memory": syscall.EROFS,
	}}
	err := r.cgroupfs().createRoot("0::/system.slice/docker-0123abcd.scope\n", cgroupRoot("node-1"))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"enabling the cpu controller in " + filepath.Join(mount, "cgroup.subtree_control"), "enabling the memory controller", "read-only file system", cgroupWritableHint} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if isDir(filepath.Join(mount, "storage-conformance")) {
		t.Error("the root was created although its parent delegates nothing")
	}
}

// Removal on v2 kills the pods' root's whole subtree through cgroup.kill and
// removes the cgroups; the shared parent stays while another node uses it.
func TestRemoveCgroupsV2(t *testing.T) {
	mount := fakeCgroupfs(t, map[string]string{
		"cgroup.controllers": "cpu memory pids\n",
		"storage-conformance/node-1/kubepods/burstable/pod-a/": "",
		"storage-conformance/node-1/kubepods/besteffort/":      "",
		"storage-conformance/node-2/":                          "",
	})
	r := &recorder{mount: mount}
	r.cgroupfs().remove(cgroupRoot("node-1"))
	if want := []string{"storage-conformance/node-1/cgroup.kill 1"}; !reflect.DeepEqual(r.writes, want) {
		t.Errorf("writes %v, want %v", r.writes, want)
	}
	if isDir(filepath.Join(mount, "storage-conformance/node-1")) {
		t.Error("storage-conformance/node-1 was not removed")
	}
	if !isDir(filepath.Join(mount, "storage-conformance/node-2")) {
		t.Error("another node's cgroup was removed")
	}
	r.cgroupfs().remove(cgroupRoot("node-2"))
	if isDir(filepath.Join(mount, "storage-conformance")) {
		t.Error("storage-conformance was not removed after its last node")
	}
	r.cgroupfs().remove(cgroupRoot("node-3")) // nothing there: nothing written
	if len(r.writes) != 2 {
		t.Errorf("writes %v, want one cgroup.kill a node", r.writes)
	}
}

// Without cgroup.kill (Linux before 5.14) every process listed in the pods'
// cgroups gets a SIGKILL.
func TestRemoveCgroupsV2WithoutCgroupKill(t *testing.T) {
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Skip("no sleep to kill:", err)
	}
	done := make(chan error, 1)
	go func() { done <- sleep.Wait() }()
	t.Cleanup(func() { _ = sleep.Process.Kill() })
	mount := fakeCgroupfs(t, map[string]string{
		"cgroup.controllers": "cpu memory pids\n",
		"storage-conformance/node-1/kubepods/pod-a/cgroup.procs": strconv.Itoa(sleep.Process.Pid) + "\n",
	})
	r := &recorder{mount: mount, refuse: map[string]syscall.Errno{"storage-conformance/node-1/cgroup.kill 1": syscall.ENOENT}}
	r.cgroupfs().remove(cgroupRoot("node-1"))
	select {
	case <-done:
		if ws, ok := sleep.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Errorf("sleep ended with %v, want SIGKILL", sleep.ProcessState)
		}
	case <-time.After(10 * time.Second):
		t.Error("the process listed in the pod's cgroup.procs was not killed")
	}
}
