// Package driver is the CSI driver csi.storage-conformance.local: Identity,
// Controller and Node services in one process, for volumes local to the node
// the process runs on. Each volume is an xfs (or ext4) filesystem in a preallocated
// backing file under the state directory, attached to a loop device and
// mounted at NodeStageVolume, so its capacity is real and enforced (writes
// beyond it fail with ENOSPC inside the volume, nowhere else).
package driver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"storage-conformance.local/csi/pkg/state"
	"storage-conformance.local/csi/pkg/volume"
)

const (
	// Name is the driver's name (CSIDriver object, StorageClass provisioner).
	Name = "csi.storage-conformance.local"
	// TopologyKey carries the name of the node that holds a volume.
	TopologyKey = "topology.csi.storage-conformance.local/node"
	// DefaultVolumeSize is used when CreateVolume names no capacity.
	DefaultVolumeSize int64 = 1 << 30
	// idSep separates a volume or snapshot's own ID from its node's name.
	// Node names are DNS subdomains: they cannot contain it.
	idSep = "@"
)

// Version is set at build time (-ldflags -X).
var Version = "dev"

// Config is what the driver is started with.
type Config struct {
	Endpoint string // unix socket path
	NodeID   string // the Kubernetes node name
	StateDir string // backing files, snapshots and state.json
	// MaxVolumesPerNode is NodeGetInfo's max_volumes_per_node (0: no limit).
	MaxVolumesPerNode int64
}

// Driver serves the three CSI services.
type Driver struct {
	csi.UnimplementedIdentityServer
	csi.UnimplementedControllerServer
	csi.UnimplementedNodeServer

	cfg   Config
	store *state.Store
	// mu serialises every operation: the state file has one writer, and a
	// volume is never staged while it is being snapshotted or expanded.
	mu    sync.Mutex
	state *state.State
	ready bool

	server   *grpc.Server
	listener net.Listener
}

// New loads the state (or starts an empty one) and prepares the directories.
func New(cfg Config) (*Driver, error) {
	if cfg.NodeID == "" {
		return nil, fmt.Errorf("a node ID is needed (--node-id, the Kubernetes node name)")
	}
	if strings.Contains(cfg.NodeID, idSep) {
		return nil, fmt.Errorf("node ID %q contains %q", cfg.NodeID, idSep)
	}
	for _, d := range []string{cfg.StateDir, volumesDir(cfg), snapshotsDir(cfg)} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, err
		}
	}
	store := &state.Store{Path: filepath.Join(cfg.StateDir, "state.json")}
	st, err := store.Load()
	if err != nil {
		return nil, err
	}
	d := &Driver{cfg: cfg, store: store, state: st}
	d.recover()
	d.ready = true
	return d, nil
}

func volumesDir(cfg Config) string   { return filepath.Join(cfg.StateDir, "volumes") }
func snapshotsDir(cfg Config) string { return filepath.Join(cfg.StateDir, "snapshots") }

// recover runs at start: a driver killed while a snapshot froze a
// filesystem would leave the database on it blocked forever; thaw them.
// Mounts that a node restart lost are not re-created here: kubelet calls
// NodeStageVolume and NodePublishVolume again for the pods it restarts.
func (d *Driver) recover() {
	for _, v := range d.state.Volumes {
		if v.StagingPath == "" {
			continue
		}
		if m, err := volume.MountAt(v.StagingPath); err == nil && m != nil {
			if err := volume.Thaw(v.StagingPath); err != nil {
				log.Printf("thawing %s at %s: %v", v.ID, v.StagingPath, err)
			}
			log.Printf("volume %s is still mounted at %s (the driver restarted, the node did not)", v.ID, v.StagingPath)
		} else {
			log.Printf("volume %s was staged at %s before the restart and is not mounted now; NodeStageVolume will attach it again", v.ID, v.StagingPath)
		}
	}
	log.Printf("state %s: %d volumes, %d snapshots; reflink in %s: %v",
		d.store.Path, len(d.state.Volumes), len(d.state.Snapshots), d.cfg.StateDir, volume.CanReflink(d.cfg.StateDir))
}

// newID returns a fresh ID of kind ("vol", "snap") on this node.
func (d *Driver) newID(kind string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return kind + "-" + hex.EncodeToString(b) + idSep + d.cfg.NodeID
}

// nodeOf returns the node an ID names ("" when the ID is not one of ours).
func nodeOf(id string) string {
	i := strings.LastIndex(id, idSep)
	if i < 0 {
		return ""
	}
	return id[i+1:]
}

// save writes the state; the caller holds mu.
func (d *Driver) save() error {
	if err := d.store.Save(d.state); err != nil {
		return status.Errorf(codes.Internal, "writing the state file %s: %v", d.store.Path, err)
	}
	return nil
}

// Run serves on the Unix socket until ctx ends.
func (d *Driver) Run(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Dir(d.cfg.Endpoint), 0o750); err != nil {
		return err
	}
	if err := os.Remove(d.cfg.Endpoint); err != nil && !os.IsNotExist(err) {
		return err
	}
	l, err := net.Listen("unix", d.cfg.Endpoint)
	if err != nil {
		return err
	}
	d.listener = l
	d.server = grpc.NewServer(grpc.UnaryInterceptor(logCalls))
	csi.RegisterIdentityServer(d.server, d)
	csi.RegisterControllerServer(d.server, d)
	csi.RegisterNodeServer(d.server, d)
	go func() {
		<-ctx.Done()
		d.server.GracefulStop()
	}()
	log.Printf("%s %s serving on %s (node %s, state %s)", Name, Version, d.cfg.Endpoint, d.cfg.NodeID, d.cfg.StateDir)
	return d.server.Serve(l)
}

// Stop ends serving at once.
func (d *Driver) Stop() {
	if d.server != nil {
		d.server.Stop()
	}
}

// logCalls logs every call with its duration and result, but not the
// frequent probes and stats.
func logCalls(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	started := time.Now()
	resp, err := handler(ctx, req)
	method := info.FullMethod[strings.LastIndex(info.FullMethod, "/")+1:]
	quiet := method == "Probe" || method == "NodeGetVolumeStats" || method == "GetCapacity" ||
		method == "NodeGetCapabilities" || method == "GetPluginInfo" || method == "GetPluginCapabilities"
	if err != nil {
		log.Printf("%s %s: %v (%s)", method, brief(req), err, time.Since(started).Round(time.Millisecond))
	} else if !quiet {
		log.Printf("%s %s: ok (%s)", method, brief(req), time.Since(started).Round(time.Millisecond))
	}
	return resp, err
}

// brief is a request on one line, its secrets fields cleared.
func brief(req any) string {
	m, ok := req.(proto.Message)
	if !ok {
		return fmt.Sprintf("%v", req)
	}
	m = proto.Clone(m)
	r := m.ProtoReflect()
	r.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		if strings.Contains(string(fd.Name()), "secrets") {
			r.Clear(fd)
		}
		return true
	})
	s := prototext.MarshalOptions{}.Format(m)
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return "{" + s + "}"
}
