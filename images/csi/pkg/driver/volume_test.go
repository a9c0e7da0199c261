package driver_test

// What csi-sanity does not check, on real loop devices: capacity enforced
// (ENOSPC at the volume's size), online expansion under an open file, a
// snapshot of a mounted volume (frozen) restored into a bigger one, a
// restart of the node (mounts and loop devices gone, state file kept), and
// a reflinked snapshot where the state directory is on xfs.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"storage-conformance.local/csi/pkg/driver"
	"storage-conformance.local/csi/pkg/loop"
	"storage-conformance.local/csi/pkg/state"
	"storage-conformance.local/csi/pkg/volume"
)

const mib = 1 << 20

type client struct {
	csi.ControllerClient
	csi.NodeClient
	t   *testing.T
	dir string
}

func dial(t *testing.T, dir, socket string) *client {
	t.Helper()
	conn, err := grpc.NewClient("unix:"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &client{ControllerClient: csi.NewControllerClient(conn), NodeClient: csi.NewNodeClient(conn), t: t, dir: dir}
}

func mountCap(mode csi.VolumeCapability_AccessMode_Mode, fsType string) *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: fsType}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: mode},
	}
}

var rwo = mountCap(csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER, "")

func (c *client) create(name string, size int64, source *csi.VolumeContentSource) *csi.Volume {
	c.t.Helper()
	resp, err := c.CreateVolume(context.Background(), &csi.CreateVolumeRequest{
		Name: name, CapacityRange: &csi.CapacityRange{RequiredBytes: size},
		VolumeCapabilities: []*csi.VolumeCapability{rwo}, VolumeContentSource: source,
	})
	if err != nil {
		c.t.Fatalf("CreateVolume %s: %v", name, err)
	}
	return resp.GetVolume()
}

// stagePublish stages and publishes a volume and returns its target path.
func (c *client) stagePublish(v *csi.Volume) string {
	c.t.Helper()
	staging := filepath.Join(c.dir, "staging", v.GetVolumeId())
	target := filepath.Join(c.dir, "pods", v.GetVolumeId())
	if _, err := c.NodeStageVolume(context.Background(), &csi.NodeStageVolumeRequest{
		VolumeId: v.GetVolumeId(), StagingTargetPath: staging, VolumeCapability: rwo,
	}); err != nil {
		c.t.Fatalf("NodeStageVolume: %v", err)
	}
	if _, err := c.NodePublishVolume(context.Background(), &csi.NodePublishVolumeRequest{
		VolumeId: v.GetVolumeId(), StagingTargetPath: staging, TargetPath: target, VolumeCapability: rwo,
	}); err != nil {
		c.t.Fatalf("NodePublishVolume: %v", err)
	}
	return target
}

func (c *client) unpublishUnstage(v *csi.Volume) {
	c.t.Helper()
	ctx := context.Background()
	if _, err := c.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: v.GetVolumeId(), TargetPath: filepath.Join(c.dir, "pods", v.GetVolumeId())}); err != nil {
		c.t.Fatalf("NodeUnpublishVolume: %v", err)
	}
	if _, err := c.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: v.GetVolumeId(), StagingTargetPath: filepath.Join(c.dir, "staging", v.GetVolumeId())}); err != nil {
		c.t.Fatalf("NodeUnstageVolume: %v", err)
	}
}

func statfs(t *testing.T, path string) (total, avail int64) {
	t.Helper()
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		t.Fatal(err)
	}
	return int64(fs.Blocks) * int64(fs.Bsize), int64(fs.Bavail) * int64(fs.Bsize)
}

// fill writes f until the filesystem refuses, fsyncing, and returns the bytes written and the error.
func fill(f *os.File) (int64, error) {
	buf := bytes.Repeat([]byte{0xab}, mib)
	var written int64
	for {
		n, err := f.Write(buf)
		written += int64(n)
		if err != nil {
			return written, err
		}
		if written%(16*mib) == 0 {
			if err := f.Sync(); err != nil {
				return written, err
			}
		}
	}
}

func TestCapacityIsEnforcedAndGrowsOnline(t *testing.T) {
	needsLoopDevices(t)
	dir, socket, _ := startDriver(t, "node-a")
	c := dial(t, dir, socket)
	v := c.create("full", 320*mib, nil)
	target := c.stagePublish(v)
	total, _ := statfs(t, target)
	if total > 320*mib || total < 200*mib {
		t.Fatalf("a 320 MiB volume shows %d bytes", total)
	}

	// Fill it: the writes stop with ENOSPC at the volume's size, not the disk's.
	f, err := os.Create(filepath.Join(target, "ballast"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	written, err := fill(f)
	if !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("filling the volume ended with %v after %d bytes, want ENOSPC", err, written)
	}
	if written > 320*mib {
		t.Fatalf("wrote %d bytes into a 320 MiB volume", written)
	}
	t.Logf("ENOSPC after %d MiB in a 320 MiB volume (%d MiB by statfs)", written/mib, total/mib)

	// Grow it while the full file is open: the same writer can go on.
	started := time.Now()
	ctx := context.Background()
	cr, err := c.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: v.GetVolumeId(), CapacityRange: &csi.CapacityRange{RequiredBytes: 512 * mib}})
	if err != nil {
		t.Fatalf("ControllerExpandVolume: %v", err)
	}
	if !cr.GetNodeExpansionRequired() || cr.GetCapacityBytes() != 512*mib {
		t.Fatalf("ControllerExpandVolume answered %v", cr)
	}
	nr, err := c.NodeExpandVolume(ctx, &csi.NodeExpandVolumeRequest{VolumeId: v.GetVolumeId(), VolumePath: target, CapacityRange: &csi.CapacityRange{RequiredBytes: 512 * mib}})
	if err != nil {
		t.Fatalf("NodeExpandVolume: %v", err)
	}
	grown, avail := statfs(t, target)
	t.Logf("grown to %d MiB (statfs %d MiB, %d MiB free) in %s", nr.GetCapacityBytes()/mib, grown/mib, avail/mib, time.Since(started).Round(time.Millisecond))
	if nr.GetCapacityBytes() != 512*mib || grown <= total+150*mib {
		t.Fatalf("after expansion to 512 MiB: NodeExpandVolume says %d, statfs %d (was %d)", nr.GetCapacityBytes(), grown, total)
	}
	if _, err := f.Write(make([]byte, 64*mib)); err != nil {
		t.Fatalf("writing after expansion: %v", err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	stats, err := c.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: v.GetVolumeId(), VolumePath: target})
	if err != nil {
		t.Fatalf("NodeGetVolumeStats: %v", err)
	}
	if u := stats.GetUsage()[0]; u.GetTotal() != grown || u.GetUsed() < written {
		t.Fatalf("NodeGetVolumeStats: %v, want total %d and at least %d used", u, grown, written)
	}
	c.unpublishUnstage(v)
	if dev, _ := loop.Find(mustState(t, dir).Volumes[v.GetVolumeId()].BackingFile); dev != "" {
		t.Fatalf("%s is still attached after NodeUnstageVolume", dev)
	}
}

func mustState(t *testing.T, dir string) *state.State {
	t.Helper()
	st, err := (&state.Store{Path: filepath.Join(dir, "state", "state.json")}).Load()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestSnapshotOfAMountedVolumeRestoresIntoABiggerOne(t *testing.T) {
	needsLoopDevices(t)
	dir, socket, _ := startDriver(t, "node-a")
	snapshotAndRestore(t, dir, socket, "copy+frozen")
}

// TestSnapshotByReflinkOnXFS puts the state directory on an xfs filesystem
// (itself on a loop device) so that snapshots are reflinks.
func TestSnapshotByReflinkOnXFS(t *testing.T) {
	needsLoopDevices(t)
	base, err := os.MkdirTemp("", "csi-xfs-")
	if err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(base, "mnt")
	// Registered first, so it runs after the driver's own cleanup.
	t.Cleanup(func() {
		if err := volume.Unmount(mnt); err != nil {
			t.Error(err)
		}
		os.RemoveAll(base)
	})
	img := filepath.Join(base, "disk.img")
	if _, err := volume.CreateBackingFile(img, 2048*mib); err != nil {
		t.Fatal(err)
	}
	if err := volume.Mkfs(context.Background(), volume.XFS, img); err != nil {
		t.Fatal(err)
	}
	dev, err := loop.Attach(img)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(mnt, 0o755)
	err = volume.Mount(dev.Path, mnt, volume.XFS, nil)
	dev.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !volume.CanReflink(mnt) {
		t.Skip("this kernel's xfs does not reflink")
	}
	t.Setenv("TMPDIR", mnt)
	dir, socket, _ := startDriver(t, "node-a")
	snapshotAndRestore(t, dir, socket, "reflink+frozen")
}

func snapshotAndRestore(t *testing.T, dir, socket, wantMethod string) {
	c := dial(t, dir, socket)
	ctx := context.Background()
	v := c.create("source", 320*mib, nil)
	target := c.stagePublish(v)
	data := bytes.Repeat([]byte("acknowledged "), 100000)
	// Written but not synced: the freeze must flush it into the snapshot.
	if err := os.WriteFile(filepath.Join(target, "ledger"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	sr, err := c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snap", SourceVolumeId: v.GetVolumeId()})
	if err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}
	t.Logf("snapshot of a mounted 320 MiB volume in %s", time.Since(started).Round(time.Millisecond))
	snap := mustState(t, dir).Snapshots[sr.GetSnapshot().GetSnapshotId()]
	if snap.Method != wantMethod {
		t.Errorf("snapshot made by %q, want %q", snap.Method, wantMethod)
	}
	if !sr.GetSnapshot().GetReadyToUse() || sr.GetSnapshot().GetSizeBytes() != 320*mib {
		t.Errorf("CreateSnapshot answered %v", sr.GetSnapshot())
	}
	// Written after the snapshot: not in the restore.
	if err := os.WriteFile(filepath.Join(target, "later"), []byte("after"), 0o644); err != nil {
		t.Fatal(err)
	}

	restored := c.create("restored", 400*mib, &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
		Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: sr.GetSnapshot().GetSnapshotId()}}})
	if restored.GetCapacityBytes() != 400*mib {
		t.Fatalf("restored volume has %d bytes", restored.GetCapacityBytes())
	}
	// Both mounted at once: xfs refuses a duplicate UUID without nouuid.
	rt := c.stagePublish(restored)
	got, err := os.ReadFile(filepath.Join(rt, "ledger"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the restored volume's ledger: %d bytes, %v; want the %d written before the snapshot", len(got), err, len(data))
	}
	if _, err := os.Stat(filepath.Join(rt, "later")); !os.IsNotExist(err) {
		t.Fatalf("a file written after the snapshot is in the restore: %v", err)
	}
	if total, _ := statfs(t, rt); total <= 320*mib-64*mib {
		t.Errorf("the restored 400 MiB volume's filesystem has %d MiB: not grown at NodeStageVolume", total/mib)
	}

	// A clone of the mounted source, too.
	clone := c.create("clone", 320*mib, &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{
		Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: v.GetVolumeId()}}})
	ct := c.stagePublish(clone)
	if _, err := os.Stat(filepath.Join(ct, "later")); err != nil {
		t.Fatalf("the clone lacks what the source had when cloned: %v", err)
	}
	for _, vol := range []*csi.Volume{v, restored, clone} {
		c.unpublishUnstage(vol)
		if _, err := c.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: vol.GetVolumeId()}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: sr.GetSnapshot().GetSnapshotId()}); err != nil {
		t.Fatal(err)
	}
}

// TestNodeRestartReattaches: the node container dies (its mounts go, so the
// loop devices autoclear) and a new driver starts from the state file;
// kubelet's NodeStageVolume and NodePublishVolume attach and mount again.
func TestNodeRestartReattaches(t *testing.T) {
	needsLoopDevices(t)
	dir, err := os.MkdirTemp("", "csi-")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		unmountUnder(t, dir)
		os.RemoveAll(dir)
	}()
	socket := filepath.Join(dir, "csi.sock")
	start := func() (*client, func()) {
		d, err := driver.New(driver.Config{Endpoint: socket, NodeID: "node-a", StateDir: filepath.Join(dir, "state")})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		for i := 0; i < 200; i++ {
			if _, err := os.Stat(socket); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		return dial(t, dir, socket), func() { d.Stop(); cancel(); <-done }
	}
	c, stop := start()
	v := c.create("db", 320*mib, nil)
	target := c.stagePublish(v)
	f, err := os.Create(filepath.Join(target, "ibdata1"))
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("committed")
	f.Sync() // what a database's commit does
	f.Close()
	stop()

	// The power cut, as far as this host allows: the mounts vanish (the
	// namespace dies with the container), the loop device detaches itself.
	unmountUnder(t, dir)
	backing := mustState(t, dir).Volumes[v.GetVolumeId()].BackingFile
	deadline := time.Now().Add(5 * time.Second)
	for dev, _ := loop.Find(backing); dev != ""; dev, _ = loop.Find(backing) {
		if time.Now().After(deadline) {
			t.Fatalf("%s still attached after its filesystem was unmounted: autoclear did not detach it", dev)
		}
		time.Sleep(20 * time.Millisecond)
	}

	c, stop = start()
	defer stop()
	// kubelet finds the volume unmounted and stages and publishes it again.
	target = c.stagePublish(v)
	got, err := os.ReadFile(filepath.Join(target, "ibdata1"))
	if err != nil || string(got) != "committed" {
		t.Fatalf("after the restart: %q, %v", got, err)
	}
	// Staging again is idempotent.
	if _, err := c.NodeStageVolume(context.Background(), &csi.NodeStageVolumeRequest{
		VolumeId: v.GetVolumeId(), StagingTargetPath: filepath.Join(dir, "staging", v.GetVolumeId()), VolumeCapability: rwo,
	}); err != nil {
		t.Fatalf("NodeStageVolume again: %v", err)
	}
	c.unpublishUnstage(v)
}

func TestReadWriteOncePodRefusesASecondPublication(t *testing.T) {
	needsLoopDevices(t)
	dir, socket, _ := startDriver(t, "node-a")
	c := dial(t, dir, socket)
	ctx := context.Background()
	rwop := mountCap(csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER, "")
	v := c.create("rwop", 320*mib, nil)
	staging := filepath.Join(dir, "staging", "rwop")
	if _, err := c.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: v.GetVolumeId(), StagingTargetPath: staging, VolumeCapability: rwop}); err != nil {
		t.Fatal(err)
	}
	pub := func(target string) error {
		_, err := c.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: v.GetVolumeId(), StagingTargetPath: staging,
			TargetPath: filepath.Join(dir, target), VolumeCapability: rwop})
		return err
	}
	if err := pub("pod-1"); err != nil {
		t.Fatal(err)
	}
	if err := pub("pod-2"); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("a second ReadWriteOncePod publication: %v, want FailedPrecondition", err)
	}
	if _, err := c.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: v.GetVolumeId(), TargetPath: filepath.Join(dir, "pod-1")}); err != nil {
		t.Fatal(err)
	}
	if err := pub("pod-2"); err != nil {
		t.Fatalf("after the first pod left: %v", err)
	}
	// Multi-node modes are refused with the reason.
	_, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "rwx", VolumeCapabilities: []*csi.VolumeCapability{
		mountCap(csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER, "")}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "ReadWriteMany") {
		t.Fatalf("a ReadWriteMany volume: %v", err)
	}
}

func TestExt4VolumesToo(t *testing.T) {
	needsLoopDevices(t)
	dir, socket, _ := startDriver(t, "node-a")
	c := dial(t, dir, socket)
	ctx := context.Background()
	ext4 := mountCap(csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER, "ext4")
	resp, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "e", CapacityRange: &csi.CapacityRange{RequiredBytes: 64 * mib}, VolumeCapabilities: []*csi.VolumeCapability{ext4}})
	if err != nil {
		t.Fatal(err)
	}
	staging := filepath.Join(dir, "staging", "e")
	if _, err := c.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: resp.GetVolume().GetVolumeId(), StagingTargetPath: staging, VolumeCapability: ext4}); err != nil {
		t.Fatal(err)
	}
	if m, _ := volume.MountAt(staging); m == nil || m.FsType != "ext4" {
		t.Fatalf("staged as %+v", m)
	}
	if _, err := os.Stat(filepath.Join(staging, "lost+found")); !os.IsNotExist(err) {
		t.Errorf("lost+found is still in the volume's root (MySQL refuses to initialise a non-empty data directory): %v", err)
	}
	// Online ext4 growth needs CAP_SYS_RESOURCE; say which happened.
	_, err = c.NodeExpandVolume(ctx, &csi.NodeExpandVolumeRequest{VolumeId: resp.GetVolume().GetVolumeId(), VolumePath: staging, CapacityRange: &csi.CapacityRange{RequiredBytes: 96 * mib}})
	if err != nil && !strings.Contains(err.Error(), "CAP_SYS_RESOURCE") {
		t.Fatalf("NodeExpandVolume of ext4: %v", err)
	}
	t.Logf("online ext4 expansion: %v", err)
	if _, err := c.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: resp.GetVolume().GetVolumeId(), StagingTargetPath: staging}); err != nil {
		t.Fatal(err)
	}
}
