package driver

import (
	"context"
	"errors"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"storage-conformance.local/csi/pkg/loop"
	"storage-conformance.local/csi/pkg/state"
	"storage-conformance.local/csi/pkg/volume"
)

// stagedAt is where v's filesystem is mounted now (its recorded staging
// path, if that is a mount of the loop device bound to v's backing file), or "".
// After a node restart the record survives and the mount does not: this
// asks the kernel. The caller holds mu.
func (d *Driver) stagedAt(v *state.Volume) string {
	if v.StagingPath == "" {
		return ""
	}
	m, err := volume.MountAt(v.StagingPath)
	if err != nil || m == nil {
		return ""
	}
	dev, err := loop.Find(v.BackingFile)
	if err != nil || dev == "" || !sameDevice(m.Source, dev) {
		return ""
	}
	return v.StagingPath
}

// sameDevice compares a mount's source with a loop device path by name:
// both are /dev/loopN in this mount namespace.
func sameDevice(source, dev string) bool {
	return filepath.Base(source) == filepath.Base(dev)
}

// volumeForNode finds a volume for a node call: NotFound when it is not here.
func (d *Driver) volumeForNode(id string) (*state.Volume, error) {
	v, ok := d.state.Volumes[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "volume %s not found%s", id, d.elsewhere(id))
	}
	return v, nil
}

func (d *Driver) NodeStageVolume(ctx context.Context, req *csi.NodeStageVolumeRequest) (*csi.NodeStageVolumeResponse, error) {
	id, staging := req.GetVolumeId(), req.GetStagingTargetPath()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID missing in request")
	}
	if staging == "" {
		return nil, status.Error(codes.InvalidArgument, "staging target path missing in request")
	}
	if req.GetVolumeCapability() == nil {
		return nil, status.Error(codes.InvalidArgument, "volume capability missing in request")
	}
	if why := checkCapability(req.GetVolumeCapability()); why != "" {
		return nil, status.Error(codes.InvalidArgument, why)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	v, err := d.volumeForNode(id)
	if err != nil {
		return nil, err
	}
	if fs := req.GetVolumeCapability().GetMount().GetFsType(); fs != "" && fs != v.FsType {
		return nil, status.Errorf(codes.InvalidArgument, "volume %s holds %s, the request asks for %s", id, v.FsType, fs)
	}
	if m, err := volume.MountAt(staging); err != nil {
		return nil, status.Errorf(codes.Internal, "reading the mount table: %v", err)
	} else if m != nil {
		if v.StagingPath == staging && d.stagedAt(v) == staging {
			return &csi.NodeStageVolumeResponse{}, nil // already staged here
		}
		return nil, status.Errorf(codes.AlreadyExists, "%s is already a mount of %s, not of volume %s", staging, m.Source, id)
	}
	if other := d.stagedAt(v); other != "" && other != staging {
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is already staged at %s", id, other)
	}
	started := time.Now()
	if err := os.MkdirAll(staging, 0o750); err != nil {
		return nil, status.Errorf(codes.Internal, "creating %s: %v", staging, err)
	}
	if err := waitDetached(v.BackingFile); err != nil {
		return nil, err
	}
	dev, err := loop.Attach(v.BackingFile)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "attaching %s to a loop device: %v", v.BackingFile, err)
	}
	defer dev.Close() // the mount holds the device from here; autoclear detaches it at unmount
	opts := append(volume.MountData(v.FsType), req.GetVolumeCapability().GetMount().GetMountFlags()...)
	if err := volume.Mount(dev.Path, staging, v.FsType, opts); err != nil {
		// After a power cut the filesystem replays its journal at mount; an
		// ext4 it cannot mount gets one automatic repair (fsck -p at boot).
		repaired, rerr := volume.Repair(ctx, v.FsType, dev.Path)
		if !repaired {
			return nil, status.Errorf(codes.Internal, "%v", err)
		}
		if rerr != nil {
			return nil, status.Errorf(codes.Internal, "%v; then %v", err, rerr)
		}
		if err := volume.Mount(dev.Path, staging, v.FsType, opts); err != nil {
			return nil, status.Errorf(codes.Internal, "%v (after e2fsck -p)", err)
		}
	}
	// A volume grown while it was not mounted (or restored into a bigger
	// one) gets its filesystem grown now; nothing changes otherwise.
	if err := volume.GrowMounted(ctx, v.FsType, dev.Path, staging); err != nil {
		log.Printf("volume %s: %v", id, err)
	}
	// mkfs.ext4 leaves lost+found in the root, and MySQL refuses to initialise a
	// data directory that is not empty; an empty one is removed (e2fsck
	// makes it again when it needs it).
	if err := os.Remove(filepath.Join(staging, "lost+found")); err != nil && !os.IsNotExist(err) && !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EROFS) {
		log.Printf("volume %s: removing lost+found: %v", id, err)
	}
	v.StagingPath = staging
	if err := d.save(); err != nil {
		_ = volume.Unmount(staging)
		return nil, err
	}
	log.Printf("volume %s staged at %s on %s in %s", id, staging, dev.Path, time.Since(started).Round(time.Millisecond))
	return &csi.NodeStageVolumeResponse{}, nil
}

// waitDetached waits for the kernel to finish detaching a loop device whose
// filesystem was just unmounted (autoclear runs asynchronously), so that a
// new stage never reuses a device that is going away. A device still bound
// after that is reused as it is.
func waitDetached(backing string) error {
	deadline := time.Now().Add(3 * time.Second)
	for {
		dev, err := loop.Find(backing)
		if err != nil {
			return status.Errorf(codes.Internal, "looking for loop devices of %s: %v", backing, err)
		}
		if dev == "" || time.Now().After(deadline) {
			return nil
		}
		mounts, err := volume.Mounts()
		if err != nil {
			return status.Errorf(codes.Internal, "reading the mount table: %v", err)
		}
		for _, m := range mounts {
			if sameDevice(m.Source, dev) {
				return nil // in use (mounted elsewhere): reuse it
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *Driver) NodeUnstageVolume(ctx context.Context, req *csi.NodeUnstageVolumeRequest) (*csi.NodeUnstageVolumeResponse, error) {
	id, staging := req.GetVolumeId(), req.GetStagingTargetPath()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID missing in request")
	}
	if staging == "" {
		return nil, status.Error(codes.InvalidArgument, "staging target path missing in request")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := volume.Unmount(staging); err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	v, ok := d.state.Volumes[id]
	if !ok {
		return &csi.NodeUnstageVolumeResponse{}, nil // unmounted what was there; nothing to record
	}
	if err := waitDetached(v.BackingFile); err != nil {
		return nil, err
	}
	if v.StagingPath == staging {
		v.StagingPath = ""
		if err := d.save(); err != nil {
			return nil, err
		}
	}
	return &csi.NodeUnstageVolumeResponse{}, nil
}

func (d *Driver) NodePublishVolume(ctx context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	id, target, staging := req.GetVolumeId(), req.GetTargetPath(), req.GetStagingTargetPath()
	switch {
	case id == "":
		return nil, status.Error(codes.InvalidArgument, "volume ID missing in request")
	case target == "":
		return nil, status.Error(codes.InvalidArgument, "target path missing in request")
	case staging == "":
		return nil, status.Error(codes.InvalidArgument, "staging target path missing in request (the driver stages volumes)")
	case req.GetVolumeCapability() == nil:
		return nil, status.Error(codes.InvalidArgument, "volume capability missing in request")
	}
	if why := checkCapability(req.GetVolumeCapability()); why != "" {
		return nil, status.Error(codes.InvalidArgument, why)
	}
	mode := req.GetVolumeCapability().GetAccessMode().GetMode()
	readOnly := req.GetReadonly() || mode == csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY
	d.mu.Lock()
	defer d.mu.Unlock()
	v, err := d.volumeForNode(id)
	if err != nil {
		return nil, err
	}
	if d.stagedAt(v) != staging {
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is not staged at %s", id, staging)
	}
	if m, err := volume.MountAt(target); err != nil {
		return nil, status.Errorf(codes.Internal, "reading the mount table: %v", err)
	} else if m != nil {
		if p, ok := v.Published[target]; ok && p.ReadOnly == readOnly && p.AccessMode == mode.String() {
			return &csi.NodePublishVolumeResponse{}, nil // already published here
		}
		return nil, status.Errorf(codes.AlreadyExists, "%s is already mounted (%s), not as this publication of volume %s", target, m.Source, id)
	}
	// ReadWriteOncePod: one publication at a time, whatever the target.
	for other, p := range v.Published {
		if other == target {
			continue
		}
		if mode == csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER || p.AccessMode == csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER.String() {
			if m, _ := volume.MountAt(other); m != nil {
				return nil, status.Errorf(codes.FailedPrecondition, "volume %s is single-writer (ReadWriteOncePod) and already published at %s", id, other)
			}
		}
	}
	if err := os.MkdirAll(target, 0o750); err != nil {
		return nil, status.Errorf(codes.Internal, "creating %s: %v", target, err)
	}
	if err := volume.BindMount(staging, target, readOnly, req.GetVolumeCapability().GetMount().GetMountFlags()); err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	if v.Published == nil {
		v.Published = map[string]state.Publication{}
	}
	v.Published[target] = state.Publication{AccessMode: mode.String(), ReadOnly: readOnly}
	if err := d.save(); err != nil {
		_ = volume.Unmount(target)
		return nil, err
	}
	return &csi.NodePublishVolumeResponse{}, nil
}

func (d *Driver) NodeUnpublishVolume(ctx context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	id, target := req.GetVolumeId(), req.GetTargetPath()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID missing in request")
	}
	if target == "" {
		return nil, status.Error(codes.InvalidArgument, "target path missing in request")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := volume.Unmount(target); err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	if err := os.Remove(target); err != nil && !os.IsNotExist(err) {
		return nil, status.Errorf(codes.Internal, "removing %s: %v", target, err)
	}
	if v, ok := d.state.Volumes[id]; ok {
		if _, published := v.Published[target]; published {
			delete(v.Published, target)
			if err := d.save(); err != nil {
				return nil, err
			}
		}
	}
	return &csi.NodeUnpublishVolumeResponse{}, nil
}

// isVolumePath says whether path is where v is staged or published.
func isVolumePath(v *state.Volume, path string) bool {
	if path == v.StagingPath {
		return true
	}
	_, ok := v.Published[path]
	return ok
}

func (d *Driver) NodeGetVolumeStats(ctx context.Context, req *csi.NodeGetVolumeStatsRequest) (*csi.NodeGetVolumeStatsResponse, error) {
	id, path := req.GetVolumeId(), req.GetVolumePath()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID missing in request")
	}
	if path == "" {
		return nil, status.Error(codes.InvalidArgument, "volume path missing in request")
	}
	d.mu.Lock()
	v, err := d.volumeForNode(id)
	known := err == nil && isVolumePath(v, path)
	d.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !known {
		return nil, status.Errorf(codes.NotFound, "volume %s is not staged or published at %s", id, path)
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		if os.IsNotExist(err) {
			return nil, status.Errorf(codes.NotFound, "%s: %v", path, err)
		}
		return nil, status.Errorf(codes.Internal, "statfs %s: %v", path, err)
	}
	bs := int64(fs.Bsize)
	return &csi.NodeGetVolumeStatsResponse{Usage: []*csi.VolumeUsage{
		{Unit: csi.VolumeUsage_BYTES, Total: int64(fs.Blocks) * bs, Available: int64(fs.Bavail) * bs, Used: int64(fs.Blocks-fs.Bfree) * bs},
		{Unit: csi.VolumeUsage_INODES, Total: int64(fs.Files), Available: int64(fs.Ffree), Used: int64(fs.Files - fs.Ffree)},
	}}, nil
}

// NodeExpandVolume grows the backing file (when ControllerExpandVolume ran
// on another node's driver), makes the loop device see the new size, and
// grows the mounted ext4 online.
func (d *Driver) NodeExpandVolume(ctx context.Context, req *csi.NodeExpandVolumeRequest) (*csi.NodeExpandVolumeResponse, error) {
	id, path := req.GetVolumeId(), req.GetVolumePath()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID missing in request")
	}
	if path == "" {
		return nil, status.Error(codes.InvalidArgument, "volume path missing in request")
	}
	if c := req.GetVolumeCapability(); c != nil {
		if why := checkCapability(c); why != "" {
			return nil, status.Error(codes.InvalidArgument, why)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	v, err := d.volumeForNode(id)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err != nil {
		return nil, status.Errorf(codes.NotFound, "volume path %s: %v", path, err)
	}
	staging := d.stagedAt(v)
	if staging == "" {
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is not staged on this node", id)
	}
	size := v.CapacityBytes
	if r := req.GetCapacityRange(); r != nil {
		want, err := capacityFor(r, v.CapacityBytes)
		if err != nil {
			return nil, err
		}
		size = want
	}
	started := time.Now()
	if err := volume.GrowBackingFile(v.BackingFile, size); err != nil {
		return nil, status.Errorf(errCode(err), "growing %s: %v", v.BackingFile, err)
	}
	dev, err := loop.Find(v.BackingFile)
	if err != nil || dev == "" {
		return nil, status.Errorf(codes.Internal, "no loop device for %s (%v)", v.BackingFile, err)
	}
	if err := loop.Refresh(dev); err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	if err := volume.GrowMounted(ctx, v.FsType, dev, staging); err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	devSize, err := loop.Size(dev)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "reading the size of %s: %v", dev, err)
	}
	if devSize != v.CapacityBytes {
		v.CapacityBytes = devSize
		if err := d.save(); err != nil {
			return nil, err
		}
	}
	log.Printf("volume %s: %s and its filesystem grown to %d bytes in %s", id, dev, devSize, time.Since(started).Round(time.Millisecond))
	return &csi.NodeExpandVolumeResponse{CapacityBytes: devSize}, nil
}

func (d *Driver) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	var caps []*csi.NodeServiceCapability
	for _, t := range []csi.NodeServiceCapability_RPC_Type{
		csi.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME,
		csi.NodeServiceCapability_RPC_GET_VOLUME_STATS,
		csi.NodeServiceCapability_RPC_EXPAND_VOLUME,
		csi.NodeServiceCapability_RPC_SINGLE_NODE_MULTI_WRITER,
	} {
		caps = append(caps, &csi.NodeServiceCapability{Type: &csi.NodeServiceCapability_Rpc{
			Rpc: &csi.NodeServiceCapability_RPC{Type: t}}})
	}
	return &csi.NodeGetCapabilitiesResponse{Capabilities: caps}, nil
}

func (d *Driver) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	return &csi.NodeGetInfoResponse{
		NodeId:             d.cfg.NodeID,
		MaxVolumesPerNode:  d.cfg.MaxVolumesPerNode,
		AccessibleTopology: d.topology()[0],
	}, nil
}
