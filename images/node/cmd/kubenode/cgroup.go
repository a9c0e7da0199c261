package main

// The pods' cgroup root, which kubelet (cgroupfs driver) is given as
// cgroupRoot, on a cgroup v1 host (hybrid included) and on a cgroup v2-only
// (unified) host.
//
// The cgroup v2 steps follow what k3s does when it runs in a container as
// pid 1 (k3s-io/k3s pkg/cli/cmds/init_linux.go: EvacuateCgroup2, calling
// rootless-containers/rootlesskit pkg/parent/cgrouputil.EvacuateCgroup2("init"),
// itself ported from usernetes and moby's hack/dind) and what kind does for
// its kubelet's cgroup (kubernetes-sigs/kind
// images/base/files/usr/local/bin/create-kubelet-cgroup-v2, after systemd has
// emptied the namespace root; its entrypoint's fix_cgroup leaves v2 to that).

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroupMount is where the node container sees the cgroup filesystem.
const cgroupMount = "/sys/fs/cgroup"

// kubeletControllers are the cgroup v2 controllers enabled down to the pods'
// root: kubelet refuses a cgroup root that lacks one of cpu, cpuset, memory,
// hugetlb and pids the host's root has ("cgroup [...] has some missing
// controllers"); io, which kubelet does not require, is for the runtime's
// block I/O settings.
var kubeletControllers = []string{"cpu", "cpuset", "memory", "pids", "io", "hugetlb"}

const cgroupWritableHint = "the node container needs a writable /sys/fs/cgroup: run it with cgroupns=private or bind /sys/fs/cgroup read-write (both privileged)"

// cgroupRoot keeps each node's pods under their own cgroup: node containers
// may share the host's cgroup namespace, and two nodes must not share /kubepods.
func cgroupRoot(nodeName string) string { return "/storage-conformance/" + nodeName }

// cgroupfs is a cgroup filesystem mount. write sends one value to one of its
// files (writeCgroupFile); the tests record the writes instead, since a fake
// tree of plain files would keep only the last of them.
type cgroupfs struct {
	mount string
	write func(path, value string) error
}

// writeCgroupFile writes value to a cgroupfs file in one write(2): the kernel
// takes each write as one command (one pid, one "+controller").
func writeCgroupFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.Write([]byte(value))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// unified is true on a cgroup v2-only host: the mount is the unified hierarchy
// itself. A hybrid host (v1 hierarchies, v2 at <mount>/unified with no
// controllers) is v1 for kubelet.
func (c cgroupfs) unified() bool {
	_, err := os.Stat(filepath.Join(c.mount, "cgroup.controllers"))
	return err == nil
}

// createCgroupRoot makes the pods' cgroup root on this machine.
func createCgroupRoot(root string) error {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return err
	}
	return cgroupfs{cgroupMount, writeCgroupFile}.createRoot(string(self), root)
}

// removeCgroups kills what is left in the node's pod cgroups and removes them,
// so a stopped node leaves no trace.
func removeCgroups(root string) { cgroupfs{cgroupMount, writeCgroupFile}.remove(root) }

// createRoot makes the pods' cgroup root; self is the content of
// /proc/self/cgroup.
func (c cgroupfs) createRoot(self, root string) error {
	if c.unified() {
		return c.createRootV2(self, root)
	}
	return c.createRootV1(root)
}

func (c cgroupfs) remove(root string) {
	if c.unified() {
		c.removeV2(root)
		return
	}
	c.removeV1(root)
}

// createRootV1 makes the pods' cgroup root in every v1 hierarchy (kubelet
// refuses a root that is missing from any). A new cpuset cgroup has no CPUs or
// memory nodes until they are copied from its parent.
func (c cgroupfs) createRootV1(root string) error {
	hierarchies, _ := filepath.Glob(filepath.Join(c.mount, "*"))
	for _, h := range hierarchies {
		if info, err := os.Lstat(h); err != nil || !info.IsDir() {
			continue // cpu,cpuacct style symlinks point at a hierarchy already listed
		}
		if _, err := os.Stat(filepath.Join(h, "cgroup.procs")); err != nil {
			continue
		}
		parent := h
		for _, part := range strings.Split(strings.Trim(root, "/"), "/") {
			dir := filepath.Join(parent, part)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				if v, err := os.ReadFile(filepath.Join(dir, f)); err == nil && strings.TrimSpace(string(v)) == "" {
					if pv, err := os.ReadFile(filepath.Join(parent, f)); err == nil {
						_ = os.WriteFile(filepath.Join(dir, f), pv, 0o644)
					}
				}
			}
			parent = dir
		}
	}
	return nil
}

// removeV1 removes the node's pod cgroups from every v1 hierarchy (deepest
// first), killing what is left in them.
func (c cgroupfs) removeV1(root string) {
	hierarchies, _ := filepath.Glob(filepath.Join(c.mount, "*"))
	hierarchies = append(hierarchies, c.mount)
	for _, h := range hierarchies {
		dirs := cgroupDirs(filepath.Join(h, root))
		for i := len(dirs) - 1; i >= 0; i-- {
			killCgroupProcs(dirs[i])
			_ = syscall.Rmdir(dirs[i])
		}
	}
	for _, h := range hierarchies {
		_ = syscall.Rmdir(filepath.Join(h, filepath.Dir(root))) // fails while another node uses it
	}
}

// createRootV2 makes the pods' root in the unified hierarchy with kubelet's
// controllers enabled down to it.
//
// In a private cgroup namespace this process sits in the namespace's root
// ("0::/"), and cgroup v2's "no internal processes" rule lets a cgroup that
// holds processes delegate no controllers to its children (only the host's
// real root is exempt). So, as k3s does as pid 1, every process is first
// moved from the root into /init. With the host's cgroup namespace (this
// process's line names its container's cgroup, and the mount's root is the
// host's) no process is moved: that would move the host's.
func (c cgroupfs) createRootV2(self, root string) error {
	own, ok := cgroupV2Path(self)
	if !ok {
		return fmt.Errorf("%s is cgroup v2 but /proc/self/cgroup has no 0::/path line: %q", c.mount, self)
	}
	controllersFile := filepath.Join(c.mount, "cgroup.controllers")
	data, err := os.ReadFile(controllersFile)
	if err != nil {
		return fmt.Errorf("reading %s: %w", controllersFile, err)
	}
	available := strings.Fields(string(data))
	var wanted, others []string
	for _, name := range available {
		if contains(kubeletControllers, name) {
			wanted = append(wanted, name)
		} else {
			others = append(others, name)
		}
	}
	if own == "/" {
		moved, err := c.evacuate()
		if err != nil {
			return err
		}
		// rootlesskit enables every controller the namespace's root has: the
		// ones kubelet does not use here (only reported if refused), kubelet's
		// at the first level below (an error if refused).
		if err := c.enableControllers(c.mount, others); err != nil {
			logf("cgroup v2: %v", err)
		}
		logf("cgroup v2, private cgroup namespace: moved %d processes from the namespace's root to /init", moved)
	}
	// At each level the parent delegates kubelet's controllers to the next,
	// and the pods' root to the cgroups kubelet makes in it (kubepods), as
	// kind's create-kubelet-cgroup-v2 writes /kubelet's own subtree_control.
	parent := c.mount
	for _, part := range strings.Split(strings.Trim(root, "/"), "/") {
		if err := c.enableControllers(parent, wanted); err != nil {
			return cgroupError(err)
		}
		dir := filepath.Join(parent, part)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return cgroupError(fmt.Errorf("creating the cgroup %s: %w", dir, err))
		}
		parent = dir
	}
	if err := c.enableControllers(parent, wanted); err != nil {
		return cgroupError(err)
	}
	return nil
}

// evacuate moves every process of the namespace's root cgroup into
// <mount>/init, one pid per write as the kernel takes them (rootlesskit's
// EvacuateCgroup2). A process that exited meanwhile (ESRCH) is skipped; a pid
// read as 0 is outside this pid namespace and cannot be moved from here.
func (c cgroupfs) evacuate() (int, error) {
	initDir := filepath.Join(c.mount, "init")
	if err := os.Mkdir(initDir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return 0, cgroupError(fmt.Errorf("creating the cgroup %s: %w", initDir, err))
	}
	procsFile := filepath.Join(c.mount, "cgroup.procs")
	procs, err := os.ReadFile(procsFile)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", procsFile, err)
	}
	target := filepath.Join(initDir, "cgroup.procs")
	moved := 0
	for _, pid := range strings.Fields(string(procs)) {
		if pid == "0" {
			continue
		}
		err := c.write(target, pid)
		if errors.Is(err, syscall.ESRCH) {
			continue
		}
		if err != nil {
			return moved, cgroupError(fmt.Errorf("moving pid %s into %s: %w", pid, target, err))
		}
		moved++
	}
	return moved, nil
}

// enableControllers writes "+name" to dir's cgroup.subtree_control for each
// controller, one write each, so that one the kernel refuses is reported and
// does not keep the others off.
func (c cgroupfs) enableControllers(dir string, controllers []string) error {
	file := filepath.Join(dir, "cgroup.subtree_control")
	var errs []error
	for _, name := range controllers {
		if err := c.write(file, "+"+name); err != nil {
			errs = append(errs, fmt.Errorf("enabling the %s controller in %s: %w", name, file, err))
		}
	}
	return errors.Join(errs...)
}

// removeV2 kills what is left under the node's pods' root (cgroup.kill, Linux
// 5.14 and later, kills the whole subtree; before it each process gets a
// SIGKILL), then removes the cgroups deepest first. A cgroup stays busy until
// its killed processes have exited, so removal is retried for a moment.
func (c cgroupfs) removeV2(root string) {
	base := filepath.Join(c.mount, root)
	dirs := cgroupDirs(base)
	if len(dirs) == 0 {
		return
	}
	if err := c.write(filepath.Join(base, "cgroup.kill"), "1"); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			logf("cgroup v2: %v", err)
		}
		for _, d := range dirs {
			killCgroupProcs(d)
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for i := len(dirs) - 1; i >= 0; i-- {
		for syscall.Rmdir(dirs[i]) == syscall.EBUSY && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
	}
	_ = syscall.Rmdir(filepath.Dir(base)) // fails while another node uses it
}

// cgroupDirs lists base and the directories under it, parents first.
func cgroupDirs(base string) []string {
	var dirs []string
	_ = filepath.Walk(base, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	return dirs
}

// killCgroupProcs sends SIGKILL to every process listed in dir's cgroup.procs.
func killCgroupProcs(dir string) {
	procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return
	}
	for _, pid := range strings.Fields(string(procs)) {
		if id, err := strconv.Atoi(pid); err == nil && id > 0 {
			_ = syscall.Kill(id, syscall.SIGKILL)
		}
	}
}

// cgroupV2Path is this process's cgroup in the unified hierarchy, from the
// content of /proc/self/cgroup (the line "0::/path").
func cgroupV2Path(self string) (string, bool) {
	for _, line := range strings.Split(self, "\n") {
		if path, ok := strings.CutPrefix(line, "0::"); ok {
			return path, true
		}
	}
	return "", false
}

// cgroupError adds to a refused cgroupfs operation what to change, where
// that is known.
func cgroupError(err error) error {
	switch {
	case errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%w; %s", err, cgroupWritableHint)
	case errors.Is(err, syscall.EBUSY):
		return fmt.Errorf("%w; cgroup v2 lets a cgroup that holds processes delegate no controllers to its children: its cgroup.procs must be empty", err)
	}
	return err
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
