package main

// Host preparation: what a node container needs before kubelet can run in it.

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// prepareHost does what a node container needs before kubelet can run inside
// it, and finds the node's address.
func (n *node) prepareHost() error {
	n.exited = make(chan *process, 16)
	ip, err := nodeIP()
	if err != nil {
		return err
	}
	n.ip = ip
	if err := mkdirs(logDir, filepath.Dir(kubeconfigPath), "/etc/cni/net.d", "/run/containerd", dataDir+"/storage"); err != nil {
		return err
	}
	// kubelet refuses to start without /dev/kmsg (its OOM watcher reads it), which
	// an unprivileged container lacks unless the device is passed in. An empty
	// file lets the reader end at EOF: kernel OOM kills then go unreported.
	if f, err := os.Open("/dev/kmsg"); err == nil {
		f.Close()
	} else {
		_ = os.Remove("/dev/kmsg")
		if err := os.WriteFile("/dev/kmsg", nil, 0o644); err != nil {
			return fmt.Errorf("providing /dev/kmsg for kubelet: %w", err)
		}
		logf("no readable /dev/kmsg (%v): kernel OOM events will not reach kubelet", err)
	}
	// kubelet and the logs want a machine id; a container has none.
	if _, err := os.Stat("/etc/machine-id"); err != nil {
		id := make([]byte, 16)
		_, _ = rand.Read(id)
		_ = os.WriteFile("/etc/machine-id", []byte(hex.EncodeToString(id)+"\n"), 0o444)
	}
	if err := createCgroupRoot(cgroupRoot(n.opts.nodeName)); err != nil {
		return fmt.Errorf("creating the pods' cgroup root: %w", err)
	}
	// Pod traffic leaves through the node's interface.
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		return fmt.Errorf("enabling IP forwarding (pods' traffic leaves through the node): %w; the node container needs a writable /proc/sys", err)
	}
	// Shared mount propagation lets volume mounts made by kubelet reach containers.
	if out, err := exec.Command("mount", "--make-rshared", "/").CombinedOutput(); err != nil {
		return fmt.Errorf("mount --make-rshared / (volume mounts must reach containers): %v: %s", err, out)
	}
	if n.agent {
		return nil // the CNI configuration waits for the pod CIDR the server allocates (syncNetwork)
	}
	// The server's node registers first and gets the first /24; syncNetwork
	// corrects this if the controller manager allocated another.
	return n.ensureCNIConfig(podCIDR)
}
