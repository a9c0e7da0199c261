package main

// The lazy storage layers (images/lazyfs): FUSE filesystems that hold written
// data in their own memory until it is fsynced, so that a power cut (the
// layer's `cut`, then the node container killed) loses exactly what was never
// synced, which killing the container alone never does (the host's page cache
// keeps every byte). Each layer is a loopback of a directory on the node's
// volume (which outlives the container) mounted where a StorageClass of the
// lazyfs provisioner puts its volumes. They are mounted before kubelet starts,
// and again at every start of the node (a power-on), so a pod never sees the
// bare directory.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

type lazyLayer struct {
	name string // the process, its log, its control socket
	mode string // honest: fsync persists; lying: fsync is acknowledged at once and persisted later
}

var lazyLayers = []lazyLayer{{"lazyfs", "honest"}, {"lazyfs-lying", "lying"}}

// backing is where the layer keeps what was persisted: on the node's volume, so it survives the cut.
func (l lazyLayer) backing() string { return filepath.Join(dataDir, "lazyfs", l.name) }

// mountpoint is the path the StorageClass's volumes live under (the lazyfs provisioner's nodePath).
func (l lazyLayer) mountpoint() string { return filepath.Join(dataDir, "storage-"+l.name) }

// control is the layer's command socket (`lazyfs ctl --control SOCKET cut`).
func (l lazyLayer) control() string { return filepath.Join(runDir, l.name+".sock") }

// lazyfsUnavailable holds the reason when the node has no lazy layer; the suite reads it.
const lazyfsUnavailable = runDir + "/lazyfs-unavailable"

// mountLazyLayers mounts every layer, or records why it cannot (no /dev/fuse
// in the container): the node still starts, and the power-cut checks say why
// they cannot run instead of cutting a disk that keeps everything.
func (n *node) mountLazyLayers(ctx context.Context) error {
	reason := ""
	if _, err := exec.LookPath("lazyfs"); err != nil {
		reason = "this node image has no lazyfs binary"
	} else if f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0); err != nil {
		reason = fmt.Sprintf("cannot open /dev/fuse (%v): the node container needs the device (docker run --device /dev/fuse)", err)
	} else {
		f.Close()
		for _, l := range lazyLayers {
			if err := n.mountLazyLayer(ctx, l); err != nil {
				reason = err.Error()
				break
			}
		}
	}
	if reason == "" {
		return nil
	}
	logf("no lazy storage layer: %s; the power-cut checks cannot run on this node", reason)
	if err := writeFile(lazyfsUnavailable, reason+"\n", 0o644); err != nil {
		return fmt.Errorf("recording why the lazy layer is missing: %w", err)
	}
	return nil
}

func (n *node) mountLazyLayer(ctx context.Context, l lazyLayer) error {
	if err := mkdirs(l.backing(), l.mountpoint(), runDir); err != nil {
		return fmt.Errorf("preparing the %s layer: %w", l.name, err)
	}
	if err := n.startProgram(l.name, "lazyfs", "mount", "--backing", l.backing(), "--mountpoint", l.mountpoint(), "--control", l.control(), "--mode", l.mode); err != nil {
		return err
	}
	return n.waitFor(ctx, "the "+l.name+" layer to be mounted at "+l.mountpoint(), 15*time.Second, func() (bool, string) {
		mounted, err := isMountpoint(l.mountpoint())
		if err != nil {
			return false, err.Error()
		}
		if _, err := os.Stat(l.control()); err != nil {
			return false, fmt.Sprintf("mounted=%v, no control socket yet", mounted)
		}
		return mounted, fmt.Sprintf("mounted=%v", mounted)
	})
}

// isMountpoint says whether path is a mount point in this mount namespace.
func isMountpoint(path string) (bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		// Field 5 is the mount point (octal escapes for spaces, which our paths do not have).
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && fields[4] == path {
			return true, nil
		}
	}
	return false, sc.Err()
}
