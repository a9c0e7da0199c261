package loop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestAttachCreatesMissingDeviceNodes: a container's /dev lacks the loop
// devices the kernel creates after it started; Attach makes the nodes with
// mknod(2). Here DevDir is an empty directory, so both loop-control and
// loopN are made.
func TestAttachCreatesMissingDeviceNodes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (mknod, loop devices)")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skipf("needs /dev/loop-control: %v", err)
	}
	dir, err := os.MkdirTemp("", "loop-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dev := filepath.Join(dir, "dev")
	os.MkdirAll(dev, 0o755)
	old := DevDir
	DevDir = dev
	defer func() { DevDir = old }()

	backing := filepath.Join(dir, "backing.img")
	if err := os.WriteFile(backing, make([]byte, 4<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Attach(backing)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	st, err := os.Stat(d.Path)
	if err != nil || st.Mode()&os.ModeDevice == 0 || filepath.Dir(d.Path) != dev {
		t.Fatalf("%s: %v %v", d.Path, st, err)
	}
	if found, err := Find(backing); err != nil || filepath.Base(found) != filepath.Base(d.Path) {
		t.Fatalf("Find: %q %v", found, err)
	}
	// Attaching again returns the same device.
	again, err := Attach(backing)
	if err != nil || again.Path != d.Path {
		t.Fatalf("second Attach: %v %v", again, err)
	}
	again.Close()
	if size, err := Size(d.Path); err != nil || size != 4<<20 {
		t.Fatalf("size %d %v", size, err)
	}
	// Growing the file and refreshing the device.
	if err := os.Truncate(backing, 8<<20); err != nil {
		t.Fatal(err)
	}
	if err := Refresh(d.Path); err != nil {
		t.Fatal(err)
	}
	if size, _ := Size(d.Path); size != 8<<20 {
		t.Fatalf("size after LOOP_SET_CAPACITY %d", size)
	}
	// Autoclear: closing the last opener detaches it.
	d.Close()
	deadline := time.Now().Add(5 * time.Second)
	for found, _ := Find(backing); found != ""; found, _ = Find(backing) {
		if time.Now().After(deadline) {
			t.Fatalf("%s still bound after its last close", found)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestUnusableDeviceNamesTheDockerFlags: where the device cgroup refuses
// the loop devices, opening them fails; here a nodev tmpfs plays that part
// (nodes can be made, not opened), and the error must say what Docker needs.
func TestUnusableDeviceNamesTheDockerFlags(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (mount, mknod)")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NODEV, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	old := DevDir
	DevDir = dir
	defer func() { DevDir = old }()
	backing := filepath.Join(t.TempDir(), "b.img")
	os.WriteFile(backing, make([]byte, 1<<20), 0o600)
	_, err := Attach(backing)
	if err == nil || !strings.Contains(err.Error(), "--device-cgroup-rule 'b 7:* rwm'") {
		t.Fatalf("Attach on an unusable /dev: %v", err)
	}
	t.Log(err)
	// A regular file where a node should be is not taken for a device.
	p := filepath.Join(t.TempDir(), "loop3")
	os.WriteFile(p, nil, 0o600)
	if err := ensureNode(p); err == nil {
		t.Fatal("a regular file was taken for a device node")
	}
}
