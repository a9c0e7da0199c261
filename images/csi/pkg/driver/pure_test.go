package driver

import (
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestCapacityFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		required, limit, min, want int64
		code                       codes.Code
	}{
		{0, 0, 300 * mib, DefaultVolumeSize, codes.OK},
		{1, 0, 300 * mib, 300 * mib, codes.OK},              // raised to the filesystem's minimum
		{1000*mib + 1, 0, 0, 1001 * mib, codes.OK},          // whole MiB
		{0, 500 * mib, 300 * mib, 500 * mib, codes.OK},      // no size asked, a limit below the default
		{310 * mib, 310*mib + 4096, 0, 310 * mib, codes.OK}, // rounding within the limit
		{310*mib + 1, 310*mib + 4096, 0, 310*mib + 4096, codes.OK},
		{1, 100 * mib, 300 * mib, 0, codes.OutOfRange}, // the minimum exceeds the limit
		{200 * mib, 100 * mib, 0, 0, codes.InvalidArgument},
		{-1, 0, 0, 0, codes.InvalidArgument},
	} {
		got, err := capacityFor(&csi.CapacityRange{RequiredBytes: c.required, LimitBytes: c.limit}, c.min)
		if status.Code(err) != c.code || (err == nil && got != c.want) {
			t.Errorf("capacityFor(%d, %d, min %d) = %d, %v; want %d, %s", c.required, c.limit, c.min, got, err, c.want, c.code)
		}
	}
}

func TestPage(t *testing.T) {
	for _, c := range []struct {
		n          int
		token      string
		max        int32
		start, end int
		next       string
		code       codes.Code
	}{
		{5, "", 0, 0, 5, "", codes.OK},
		{5, "", 2, 0, 2, "2", codes.OK},
		{5, "2", 2, 2, 4, "4", codes.OK},
		{5, "4", 2, 4, 5, "", codes.OK},
		{5, "5", 2, 5, 5, "", codes.OK},
		{5, "6", 0, 0, 0, "", codes.Aborted},
		{5, "invalid-token", 0, 0, 0, "", codes.Aborted},
		{5, "", -1, 0, 0, "", codes.InvalidArgument},
	} {
		start, end, next, err := page(c.n, c.token, c.max)
		if status.Code(err) != c.code || (err == nil && (start != c.start || end != c.end || next != c.next)) {
			t.Errorf("page(%d, %q, %d) = %d, %d, %q, %v", c.n, c.token, c.max, start, end, next, err)
		}
	}
}

func TestCheckCapability(t *testing.T) {
	mount := func(mode csi.VolumeCapability_AccessMode_Mode, fs string) *csi.VolumeCapability {
		return &csi.VolumeCapability{AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: fs}},
			AccessMode: &csi.VolumeCapability_AccessMode{Mode: mode}}
	}
	for _, ok := range []*csi.VolumeCapability{
		mount(csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER, ""),
		mount(csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER, "xfs"),
		mount(csi.VolumeCapability_AccessMode_SINGLE_NODE_MULTI_WRITER, "ext4"),
		mount(csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY, ""),
	} {
		if why := checkCapability(ok); why != "" {
			t.Errorf("%v refused: %s", ok, why)
		}
	}
	for want, bad := range map[string]*csi.VolumeCapability{
		"ReadWriteMany": mount(csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER, ""),
		"ReadOnlyMany":  mount(csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY, ""),
		"btrfs":         mount(csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER, "btrfs"),
		"raw block": {AccessType: &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}},
			AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER}},
		"no access mode": {AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}}},
		"no access type": {AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER}},
	} {
		if why := checkCapability(bad); !strings.Contains(why, want) {
			t.Errorf("%s: %q", want, why)
		}
	}
	if _, err := fsTypeOf([]*csi.VolumeCapability{mount(1, "xfs"), mount(1, "ext4")}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("two filesystems: %v", err)
	}
}

func TestIDsNameTheirNode(t *testing.T) {
	d := &Driver{cfg: Config{NodeID: "k3s-agent-1.example"}}
	id := d.newID("vol")
	if !strings.HasPrefix(id, "vol-") || nodeOf(id) != "k3s-agent-1.example" || localPart(id)+"@k3s-agent-1.example" != id {
		t.Fatalf("%q: node %q, local %q", id, nodeOf(id), localPart(id))
	}
	if nodeOf("fake-volume-id") != "" {
		t.Fatal("an ID of no node")
	}
	if !strings.Contains(d.elsewhere("vol-1@other"), "node other") || d.elsewhere(id) != "" {
		t.Fatal("elsewhere")
	}
}

func TestReachable(t *testing.T) {
	d := &Driver{cfg: Config{NodeID: "a"}}
	top := func(node string) *csi.Topology { return &csi.Topology{Segments: map[string]string{TopologyKey: node}} }
	for _, c := range []struct {
		req  *csi.TopologyRequirement
		want bool
	}{
		{nil, true},
		{&csi.TopologyRequirement{Requisite: []*csi.Topology{top("a")}}, true},
		{&csi.TopologyRequirement{Requisite: []*csi.Topology{top("b"), top("a")}, Preferred: []*csi.Topology{top("b")}}, true},
		{&csi.TopologyRequirement{Requisite: []*csi.Topology{top("b")}}, false},
		{&csi.TopologyRequirement{Requisite: []*csi.Topology{{Segments: map[string]string{"zone": "z"}}}}, true},
	} {
		if got := d.reachable(c.req); got != c.want {
			t.Errorf("reachable(%v) = %v", c.req, got)
		}
	}
}
