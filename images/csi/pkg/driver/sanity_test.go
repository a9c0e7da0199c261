package driver_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubernetes-csi/csi-test/v5/pkg/sanity"
	"golang.org/x/sys/unix"

	"storage-conformance.local/csi/pkg/driver"
	"storage-conformance.local/csi/pkg/volume"
)

// needsLoopDevices skips a test that attaches loop devices and mounts
// filesystems where it cannot: it needs root, /dev/loop-control, xfsprogs and e2fsprogs.
func needsLoopDevices(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the driver attaches loop devices and mounts filesystems")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skipf("needs /dev/loop-control (loop devices): %v", err)
	}
	for _, tool := range []string{"mkfs.xfs", "xfs_growfs", "mkfs.ext4", "resize2fs", "e2fsck"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (Debian packages xfsprogs, e2fsprogs): %v", tool, err)
		}
	}
}

// startDriver runs a driver on a socket in a fresh directory, stopped and
// cleaned (every mount under the directory unmounted) at the test's end.
func startDriver(t *testing.T, node string) (dir, socket string, d *driver.Driver) {
	t.Helper()
	// Not t.TempDir: its path holds the test's name, and the kernel's
	// 64-byte loop file name and unix socket paths want short ones.
	dir, err := os.MkdirTemp("", "csi-")
	if err != nil {
		t.Fatal(err)
	}
	socket = filepath.Join(dir, "csi.sock")
	d, err = driver.New(driver.Config{Endpoint: socket, NodeID: node, StateDir: filepath.Join(dir, "state")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		unmountUnder(t, dir)
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("cleaning %s: %v", dir, err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(socket); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the driver did not open %s", socket)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return dir, socket, d
}

// unmountUnder unmounts whatever a failed test left mounted under dir, deepest first.
func unmountUnder(t *testing.T, dir string) {
	mounts, err := volume.Mounts()
	if err != nil {
		t.Error(err)
		return
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		if strings.HasPrefix(mounts[i].MountPoint, dir+"/") {
			if err := unix.Unmount(mounts[i].MountPoint, unix.MNT_DETACH); err != nil {
				t.Errorf("unmounting %s: %v", mounts[i].MountPoint, err)
			}
		}
	}
}

// TestSanity runs csi-test's csi-sanity against the real driver: real backing
// files, loop devices, ext4 and mounts.
func TestSanity(t *testing.T) {
	needsLoopDevices(t)
	dir, socket, _ := startDriver(t, "sanity-node")
	cfg := sanity.NewTestConfig()
	cfg.Address = "unix:" + socket
	cfg.TargetPath = filepath.Join(dir, "target")
	cfg.StagingPath = filepath.Join(dir, "staging")
	// Small volumes: each is a preallocated file with ext4 on it.
	cfg.TestVolumeSize = 320 << 20
	cfg.TestVolumeExpandSize = 400 << 20
	cfg.IdempotentCount = 2
	sanity.Test(t, cfg)
}
