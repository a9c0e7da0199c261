package driver

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"storage-conformance.local/csi/pkg/state"
	"storage-conformance.local/csi/pkg/volume"
)

// supportedModes are the access modes of a volume that lives on one node.
var supportedModes = map[csi.VolumeCapability_AccessMode_Mode]bool{
	csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER:        true, // ReadWriteOnce
	csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY:   true,
	csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER: true, // ReadWriteOncePod
	csi.VolumeCapability_AccessMode_SINGLE_NODE_MULTI_WRITER:  true, // ReadWriteOnce when the driver has SINGLE_NODE_MULTI_WRITER
}

// checkCapability says why a capability is not supported ("" when it is).
func checkCapability(c *csi.VolumeCapability) string {
	if c == nil {
		return "empty volume capability"
	}
	switch t := c.GetAccessType().(type) {
	case *csi.VolumeCapability_Mount:
		if fs := t.Mount.GetFsType(); fs != "" && !volume.Supported(fs) {
			return fmt.Sprintf("filesystem %q is not supported: volumes are %s (the default) or %s", fs, volume.XFS, volume.Ext4)
		}
	case *csi.VolumeCapability_Block:
		return "raw block volumes are not supported: volumes are filesystems (volumeMode: Filesystem)"
	default:
		return "the volume capability has no access type (mount or block)"
	}
	mode := c.GetAccessMode().GetMode()
	if c.GetAccessMode() == nil || mode == csi.VolumeCapability_AccessMode_UNKNOWN {
		return "the volume capability has no access mode"
	}
	if !supportedModes[mode] {
		return fmt.Sprintf("access mode %s is not supported: a volume is a file on one node's disk, so only single-node modes "+
			"(ReadWriteOnce, ReadWriteOncePod, and read-only on one node) are; ReadWriteMany and ReadOnlyMany are refused", mode)
	}
	return ""
}

// checkCapabilities validates a request's capabilities (InvalidArgument).
func checkCapabilities(caps []*csi.VolumeCapability) error {
	if len(caps) == 0 {
		return status.Error(codes.InvalidArgument, "volume capabilities missing in request")
	}
	for _, c := range caps {
		if why := checkCapability(c); why != "" {
			return status.Error(codes.InvalidArgument, why)
		}
	}
	return nil
}

// fsTypeOf is the filesystem the capabilities ask for ("" when none does).
func fsTypeOf(caps []*csi.VolumeCapability) (string, error) {
	fs := ""
	for _, c := range caps {
		if t := c.GetMount().GetFsType(); t != "" {
			if fs != "" && t != fs {
				return "", status.Errorf(codes.InvalidArgument, "the capabilities ask for two filesystems, %s and %s", fs, t)
			}
			fs = t
		}
	}
	return fs, nil
}

// roundUp rounds n up to a multiple of 1 MiB.
func roundUp(n int64) int64 {
	const mib = 1 << 20
	return (n + mib - 1) / mib * mib
}

// capacityFor chooses a volume's size from a capacity range, at least min.
func capacityFor(r *csi.CapacityRange, min int64) (int64, error) {
	required, limit := r.GetRequiredBytes(), r.GetLimitBytes()
	if required < 0 || limit < 0 {
		return 0, status.Error(codes.InvalidArgument, "negative capacity")
	}
	if limit > 0 && required > limit {
		return 0, status.Errorf(codes.InvalidArgument, "required bytes %d exceed the limit %d", required, limit)
	}
	size := required
	if size == 0 {
		size = DefaultVolumeSize
		if limit > 0 && limit < size {
			size = limit
		}
	}
	size = max(roundUp(size), min)
	if limit > 0 && size > limit {
		// Rounding may overshoot a limit that is not a whole MiB.
		if required <= limit && limit >= min && limit%4096 == 0 {
			size = limit
		} else {
			return 0, status.Errorf(codes.OutOfRange, "the capacity range [%d, %d] allows no volume of at least %d bytes in whole 4 KiB blocks", required, limit, min)
		}
	}
	return size, nil
}

// fits says whether an existing size satisfies a capacity range.
func fits(size int64, r *csi.CapacityRange) bool {
	return size >= r.GetRequiredBytes() && (r.GetLimitBytes() == 0 || size <= r.GetLimitBytes())
}

func (d *Driver) topology() []*csi.Topology {
	return []*csi.Topology{{Segments: map[string]string{TopologyKey: d.cfg.NodeID}}}
}

// reachable says whether a topology requirement allows this node.
func (d *Driver) reachable(req *csi.TopologyRequirement) bool {
	if req == nil || (len(req.GetRequisite()) == 0 && len(req.GetPreferred()) == 0) {
		return true
	}
	for _, list := range [][]*csi.Topology{req.GetRequisite(), req.GetPreferred()} {
		for _, t := range list {
			if n, ok := t.GetSegments()[TopologyKey]; !ok || n == d.cfg.NodeID {
				return true
			}
		}
	}
	return false
}

func (d *Driver) CreateVolume(ctx context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	name := req.GetName()
	if name == "" {
		return nil, status.Error(codes.InvalidArgument, "volume name missing in request")
	}
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return nil, err
	}
	fsType, err := fsTypeOf(req.GetVolumeCapabilities())
	if err != nil {
		return nil, err
	}
	if !d.reachable(req.GetAccessibilityRequirements()) {
		return nil, status.Errorf(codes.ResourceExhausted, "volumes are local to the node that creates them: this is %s, the request's topology allows only %v",
			d.cfg.NodeID, req.GetAccessibilityRequirements())
	}
	srcSnap := req.GetVolumeContentSource().GetSnapshot().GetSnapshotId()
	srcVol := req.GetVolumeContentSource().GetVolume().GetVolumeId()

	d.mu.Lock()
	defer d.mu.Unlock()
	if v := d.state.VolumeByName(name); v != nil {
		if fsType != "" && fsType != v.FsType {
			return nil, status.Errorf(codes.AlreadyExists, "volume %q exists (%s) with filesystem %s", name, v.ID, v.FsType)
		}
		if !fits(v.CapacityBytes, req.GetCapacityRange()) {
			return nil, status.Errorf(codes.AlreadyExists, "volume %q exists (%s) with %d bytes, outside the requested range", name, v.ID, v.CapacityBytes)
		}
		if v.SourceSnapshot != srcSnap || v.SourceVolume != srcVol {
			return nil, status.Errorf(codes.AlreadyExists, "volume %q exists (%s) with another content source", name, v.ID)
		}
		return &csi.CreateVolumeResponse{Volume: d.csiVolume(v, req.GetVolumeContentSource())}, nil
	}

	// The content to start from: a snapshot's or a volume's backing file.
	source, sourceSize, sourceFs, sourceFrozen := "", int64(0), "", ""
	switch {
	case srcSnap != "":
		s, ok := d.state.Snapshots[srcSnap]
		if !ok {
			return nil, status.Errorf(codes.NotFound, "source snapshot %s not found%s", srcSnap, d.elsewhere(srcSnap))
		}
		source, sourceSize, sourceFs = s.File, s.SizeBytes, s.FsType
	case srcVol != "":
		v, ok := d.state.Volumes[srcVol]
		if !ok {
			return nil, status.Errorf(codes.NotFound, "source volume %s not found%s", srcVol, d.elsewhere(srcVol))
		}
		source, sourceSize, sourceFs = v.BackingFile, v.CapacityBytes, v.FsType
		if staging := d.stagedAt(v); staging != "" {
			sourceFrozen = staging
		}
	}
	if sourceFs != "" {
		if fsType != "" && fsType != sourceFs {
			return nil, status.Errorf(codes.InvalidArgument, "the source holds %s, the request asks for %s", sourceFs, fsType)
		}
		fsType = sourceFs
	}
	if fsType == "" {
		fsType = volume.DefaultFsType
	}
	size, err := capacityFor(req.GetCapacityRange(), volume.MinSize(fsType))
	if err != nil {
		return nil, err
	}
	if source != "" {
		if sourceSize > size {
			if limit := req.GetCapacityRange().GetLimitBytes(); limit > 0 && sourceSize > limit {
				return nil, status.Errorf(codes.OutOfRange, "the source holds %d bytes, more than the limit %d", sourceSize, limit)
			}
			size = sourceSize
		}
	}

	id := d.newID("vol")
	v := &state.Volume{
		ID: id, Name: name, CapacityBytes: size, FsType: fsType,
		BackingFile: filepath.Join(volumesDir(d.cfg), localPart(id)+".img"),
		Node:        d.cfg.NodeID, SourceSnapshot: srcSnap, SourceVolume: srcVol,
		Created: time.Now().UTC(),
		PVC:     qualified(req.GetParameters(), "csi.storage.k8s.io/pvc/namespace", "csi.storage.k8s.io/pvc/name"),
	}
	if err := d.makeBackingFile(ctx, v, source, sourceSize, sourceFrozen); err != nil {
		os.Remove(v.BackingFile)
		return nil, err
	}
	d.state.Volumes[id] = v
	if err := d.save(); err != nil {
		delete(d.state.Volumes, id)
		os.Remove(v.BackingFile)
		return nil, err
	}
	return &csi.CreateVolumeResponse{Volume: d.csiVolume(v, req.GetVolumeContentSource())}, nil
}

// makeBackingFile creates v's file: empty ext4, or a copy of source grown to
// v's capacity (its filesystem too, offline).
func (d *Driver) makeBackingFile(ctx context.Context, v *state.Volume, source string, sourceSize int64, freeze string) error {
	started := time.Now()
	if source == "" {
		preallocated, err := volume.CreateBackingFile(v.BackingFile, v.CapacityBytes)
		if err != nil {
			return status.Errorf(errCode(err), "creating the backing file %s: %v", v.BackingFile, err)
		}
		if !preallocated {
			log.Printf("volume %s: the filesystem under %s cannot preallocate; the backing file is sparse and its capacity is not reserved", v.ID, v.BackingFile)
		}
		if err := volume.Mkfs(ctx, v.FsType, v.BackingFile); err != nil {
			return status.Errorf(codes.Internal, "%v", err)
		}
		log.Printf("volume %s (PVC %s): %d bytes, %s, in %s", v.ID, v.PVC, v.CapacityBytes, v.FsType, time.Since(started).Round(time.Millisecond))
		return nil
	}
	method, err := copyMaybeFrozen(source, v.BackingFile, freeze)
	if err != nil {
		return status.Errorf(errCode(err), "copying %s: %v", source, err)
	}
	if err := volume.GrowBackingFile(v.BackingFile, v.CapacityBytes); err != nil {
		return status.Errorf(errCode(err), "growing %s: %v", v.BackingFile, err)
	}
	if v.CapacityBytes > sourceSize {
		// ext4 grows here; xfs grows at its first NodeStageVolume.
		if err := volume.GrowOffline(ctx, v.FsType, v.BackingFile); err != nil {
			return status.Errorf(codes.Internal, "%v", err)
		}
	}
	log.Printf("volume %s: %d bytes from %s by %s in %s", v.ID, v.CapacityBytes, source, method, time.Since(started).Round(time.Millisecond))
	return nil
}

// copyMaybeFrozen copies a backing file, freezing the filesystem mounted at
// freeze (if any) for the duration: the copy is then of a clean filesystem
// with every acknowledged write in it, not a crash image.
func copyMaybeFrozen(src, dst, freeze string) (string, error) {
	suffix := ""
	if freeze != "" {
		thaw, err := volume.Freeze(freeze)
		if err != nil {
			return "", err
		}
		started := time.Now()
		defer func() {
			if err := thaw(); err != nil {
				log.Printf("ERROR: %v: the filesystem at %s may still be frozen", err, freeze)
			}
			log.Printf("%s was frozen for %s", freeze, time.Since(started).Round(time.Millisecond))
		}()
		suffix = "+frozen"
	}
	method, err := volume.CopyFile(src, dst)
	return method + suffix, err
}

// qualified is "namespace/name" from two parameters the sidecars add with
// --extra-create-metadata ("" without them).
func qualified(params map[string]string, namespace, name string) string {
	if params[name] == "" {
		return ""
	}
	return params[namespace] + "/" + params[name]
}

// errCode maps a file error to a CSI code: a full disk is ResourceExhausted.
func errCode(err error) codes.Code {
	if os.IsNotExist(err) {
		return codes.NotFound
	}
	if strings.Contains(err.Error(), unix.ENOSPC.Error()) {
		return codes.ResourceExhausted
	}
	return codes.Internal
}

// localPart is an ID without its node.
func localPart(id string) string {
	if i := strings.LastIndex(id, idSep); i >= 0 {
		return id[:i]
	}
	return id
}

// elsewhere explains a missing ID that names another node.
func (d *Driver) elsewhere(id string) string {
	if n := nodeOf(id); n != "" && n != d.cfg.NodeID {
		return fmt.Sprintf(" on node %s: it lives on node %s (volumes and snapshots are local to one node)", d.cfg.NodeID, n)
	}
	return ""
}

func (d *Driver) csiVolume(v *state.Volume, source *csi.VolumeContentSource) *csi.Volume {
	return &csi.Volume{
		VolumeId:           v.ID,
		CapacityBytes:      v.CapacityBytes,
		VolumeContext:      map[string]string{"node": v.Node, "fsType": v.FsType},
		ContentSource:      source,
		AccessibleTopology: []*csi.Topology{{Segments: map[string]string{TopologyKey: v.Node}}},
	}
}

func (d *Driver) DeleteVolume(ctx context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	id := req.GetVolumeId()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID missing in request")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.state.Volumes[id]
	if !ok {
		if n := nodeOf(id); n != "" && n != d.cfg.NodeID {
			return nil, status.Errorf(codes.FailedPrecondition, "volume %s lives on node %s; the driver on that node deletes it", id, n)
		}
		return &csi.DeleteVolumeResponse{}, nil // already gone
	}
	if staging := d.stagedAt(v); staging != "" {
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is still staged at %s", id, staging)
	}
	if err := os.Remove(v.BackingFile); err != nil && !os.IsNotExist(err) {
		return nil, status.Errorf(codes.Internal, "removing %s: %v", v.BackingFile, err)
	}
	delete(d.state.Volumes, id)
	if err := d.save(); err != nil {
		return nil, err
	}
	return &csi.DeleteVolumeResponse{}, nil
}

func (d *Driver) ValidateVolumeCapabilities(ctx context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	id := req.GetVolumeId()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID missing in request")
	}
	if len(req.GetVolumeCapabilities()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "volume capabilities missing in request")
	}
	d.mu.Lock()
	_, ok := d.state.Volumes[id]
	d.mu.Unlock()
	if !ok {
		return nil, status.Errorf(codes.NotFound, "volume %s not found%s", id, d.elsewhere(id))
	}
	for _, c := range req.GetVolumeCapabilities() {
		if why := checkCapability(c); why != "" {
			return &csi.ValidateVolumeCapabilitiesResponse{Message: why}, nil
		}
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeContext:      req.GetVolumeContext(),
		VolumeCapabilities: req.GetVolumeCapabilities(),
		Parameters:         req.GetParameters(),
	}}, nil
}

// page returns the window [start, start+max) of n items for a list call's
// token and max_entries, and the next token.
func page(n int, token string, maxEntries int32) (start, end int, next string, err error) {
	if maxEntries < 0 {
		return 0, 0, "", status.Error(codes.InvalidArgument, "max_entries is negative")
	}
	if token != "" {
		start, err = strconv.Atoi(token)
		if err != nil || start < 0 || start > n {
			return 0, 0, "", status.Errorf(codes.Aborted, "invalid starting token %q", token)
		}
	}
	end = n
	if maxEntries > 0 && start+int(maxEntries) < n {
		end = start + int(maxEntries)
		next = strconv.Itoa(end)
	}
	return start, end, next, nil
}

func (d *Driver) ListVolumes(ctx context.Context, req *csi.ListVolumesRequest) (*csi.ListVolumesResponse, error) {
	d.mu.Lock()
	vols := d.state.SortedVolumes()
	d.mu.Unlock()
	start, end, next, err := page(len(vols), req.GetStartingToken(), req.GetMaxEntries())
	if err != nil {
		return nil, err
	}
	resp := &csi.ListVolumesResponse{NextToken: next}
	for _, v := range vols[start:end] {
		resp.Entries = append(resp.Entries, &csi.ListVolumesResponse_Entry{Volume: d.csiVolume(v, nil)})
	}
	return resp, nil
}

func (d *Driver) GetCapacity(ctx context.Context, req *csi.GetCapacityRequest) (*csi.GetCapacityResponse, error) {
	for _, c := range req.GetVolumeCapabilities() {
		if checkCapability(c) != "" {
			return &csi.GetCapacityResponse{}, nil
		}
	}
	if t := req.GetAccessibleTopology(); t != nil {
		if n, ok := t.GetSegments()[TopologyKey]; ok && n != d.cfg.NodeID {
			return &csi.GetCapacityResponse{}, nil
		}
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(d.cfg.StateDir, &fs); err != nil {
		return nil, status.Errorf(codes.Internal, "statfs %s: %v", d.cfg.StateDir, err)
	}
	// Backing files are preallocated: what is free is what new volumes can have.
	free := int64(fs.Bavail) * int64(fs.Bsize)
	fsType, _ := fsTypeOf(req.GetVolumeCapabilities())
	if fsType == "" {
		fsType = volume.DefaultFsType
	}
	return &csi.GetCapacityResponse{
		AvailableCapacity: free,
		MaximumVolumeSize: wrapperspb.Int64(free),
		MinimumVolumeSize: wrapperspb.Int64(volume.MinSize(fsType)),
	}, nil
}

func (d *Driver) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	var caps []*csi.ControllerServiceCapability
	for _, t := range []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
		csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
		csi.ControllerServiceCapability_RPC_CLONE_VOLUME,
		csi.ControllerServiceCapability_RPC_EXPAND_VOLUME,
		csi.ControllerServiceCapability_RPC_LIST_VOLUMES,
		csi.ControllerServiceCapability_RPC_GET_CAPACITY,
		csi.ControllerServiceCapability_RPC_SINGLE_NODE_MULTI_WRITER,
	} {
		caps = append(caps, &csi.ControllerServiceCapability{Type: &csi.ControllerServiceCapability_Rpc{
			Rpc: &csi.ControllerServiceCapability_RPC{Type: t}}})
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: caps}, nil
}

func (d *Driver) CreateSnapshot(ctx context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	name, src := req.GetName(), req.GetSourceVolumeId()
	if name == "" {
		return nil, status.Error(codes.InvalidArgument, "snapshot name missing in request")
	}
	if src == "" {
		return nil, status.Error(codes.InvalidArgument, "source volume ID missing in request")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if s := d.state.SnapshotByName(name); s != nil {
		if s.SourceVolumeID != src {
			return nil, status.Errorf(codes.AlreadyExists, "snapshot %q exists (%s) of another volume, %s", name, s.ID, s.SourceVolumeID)
		}
		return &csi.CreateSnapshotResponse{Snapshot: csiSnapshot(s)}, nil
	}
	v, ok := d.state.Volumes[src]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "source volume %s not found%s", src, d.elsewhere(src))
	}
	id := d.newID("snap")
	s := &state.Snapshot{
		ID: id, Name: name, SourceVolumeID: src, SizeBytes: v.CapacityBytes, FsType: v.FsType,
		File: filepath.Join(snapshotsDir(d.cfg), localPart(id)+".img"), Node: d.cfg.NodeID,
		VolumeSnapshot: qualified(req.GetParameters(), "csi.storage.k8s.io/volumesnapshot/namespace", "csi.storage.k8s.io/volumesnapshot/name"),
	}
	started := time.Now()
	method, err := copyMaybeFrozen(v.BackingFile, s.File, d.stagedAt(v))
	if err != nil {
		os.Remove(s.File)
		return nil, status.Errorf(errCode(err), "copying %s: %v", v.BackingFile, err)
	}
	s.Method = method
	s.Created = time.Now().UTC()
	d.state.Snapshots[id] = s
	if err := d.save(); err != nil {
		delete(d.state.Snapshots, id)
		os.Remove(s.File)
		return nil, err
	}
	log.Printf("snapshot %s (VolumeSnapshot %s) of %s (%d bytes) by %s in %s", id, s.VolumeSnapshot, src, s.SizeBytes, method, time.Since(started).Round(time.Millisecond))
	return &csi.CreateSnapshotResponse{Snapshot: csiSnapshot(s)}, nil
}

func csiSnapshot(s *state.Snapshot) *csi.Snapshot {
	return &csi.Snapshot{
		SnapshotId: s.ID, SourceVolumeId: s.SourceVolumeID, SizeBytes: s.SizeBytes,
		CreationTime: timestamppb.New(s.Created), ReadyToUse: true,
	}
}

func (d *Driver) DeleteSnapshot(ctx context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	id := req.GetSnapshotId()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "snapshot ID missing in request")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.state.Snapshots[id]
	if !ok {
		if n := nodeOf(id); n != "" && n != d.cfg.NodeID {
			return nil, status.Errorf(codes.FailedPrecondition, "snapshot %s lives on node %s; the driver on that node deletes it", id, n)
		}
		return &csi.DeleteSnapshotResponse{}, nil
	}
	if err := os.Remove(s.File); err != nil && !os.IsNotExist(err) {
		return nil, status.Errorf(codes.Internal, "removing %s: %v", s.File, err)
	}
	delete(d.state.Snapshots, id)
	if err := d.save(); err != nil {
		return nil, err
	}
	return &csi.DeleteSnapshotResponse{}, nil
}

func (d *Driver) ListSnapshots(ctx context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	d.mu.Lock()
	all := d.state.SortedSnapshots()
	d.mu.Unlock()
	var snaps []*state.Snapshot
	for _, s := range all {
		if id := req.GetSnapshotId(); id != "" && s.ID != id {
			continue
		}
		if src := req.GetSourceVolumeId(); src != "" && s.SourceVolumeID != src {
			continue
		}
		snaps = append(snaps, s)
	}
	start, end, next, err := page(len(snaps), req.GetStartingToken(), req.GetMaxEntries())
	if err != nil {
		return nil, err
	}
	resp := &csi.ListSnapshotsResponse{NextToken: next}
	for _, s := range snaps[start:end] {
		resp.Entries = append(resp.Entries, &csi.ListSnapshotsResponse_Entry{Snapshot: csiSnapshot(s)})
	}
	return resp, nil
}

// ControllerExpandVolume grows the backing file; NodeExpandVolume then
// refreshes the loop device and grows the mounted filesystem. A volume of
// another node (the resizer runs beside one driver of a cluster) is grown by
// that node's NodeExpandVolume alone.
func (d *Driver) ControllerExpandVolume(ctx context.Context, req *csi.ControllerExpandVolumeRequest) (*csi.ControllerExpandVolumeResponse, error) {
	id := req.GetVolumeId()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID missing in request")
	}
	if req.GetCapacityRange() == nil {
		return nil, status.Error(codes.InvalidArgument, "capacity range missing in request")
	}
	if c := req.GetVolumeCapability(); c != nil {
		if why := checkCapability(c); why != "" {
			return nil, status.Error(codes.InvalidArgument, why)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.state.Volumes[id]
	if !ok {
		if n := nodeOf(id); n != "" && n != d.cfg.NodeID {
			size, err := capacityFor(req.GetCapacityRange(), 0)
			if err != nil {
				return nil, err
			}
			return &csi.ControllerExpandVolumeResponse{CapacityBytes: size, NodeExpansionRequired: true}, nil
		}
		return nil, status.Errorf(codes.NotFound, "volume %s not found", id)
	}
	size, err := capacityFor(req.GetCapacityRange(), v.CapacityBytes)
	if err != nil {
		return nil, err
	}
	if err := volume.GrowBackingFile(v.BackingFile, size); err != nil {
		return nil, status.Errorf(errCode(err), "growing %s to %d bytes: %v", v.BackingFile, size, err)
	}
	if size != v.CapacityBytes {
		log.Printf("volume %s: backing file grown from %d to %d bytes", id, v.CapacityBytes, size)
		v.CapacityBytes = size
		if err := d.save(); err != nil {
			return nil, err
		}
	}
	return &csi.ControllerExpandVolumeResponse{CapacityBytes: size, NodeExpansionRequired: true}, nil
}
