package volume

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseMountInfo(t *testing.T) {
	in := `22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
98 22 7:0 / /var/lib/kubelet/plugins/kubernetes.io/csi/x/globalmount rw,relatime shared:50 - xfs /dev/loop0 rw,nouuid
99 22 7:0 / /var/lib/kubelet/pods/p/volumes/kubernetes.io~csi/pvc-1/mount ro,relatime shared:50 - xfs /dev/loop0 rw,nouuid
100 22 0:50 / /mnt/with\040space rw - tmpfs tmpfs rw
101 22 0:51 / /opt rw master:3 unbindable - overlay overlay rw
`
	mounts, err := ParseMountInfo(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(mounts) != 5 {
		t.Fatalf("%d mounts", len(mounts))
	}
	if m := mounts[1]; m.Source != "/dev/loop0" || m.FsType != "xfs" || m.ReadOnly() {
		t.Fatalf("%+v", m)
	}
	if !mounts[2].ReadOnly() {
		t.Fatal("the read-only bind mount")
	}
	if mounts[3].MountPoint != "/mnt/with space" {
		t.Fatalf("escape: %q", mounts[3].MountPoint)
	}
	if mounts[4].FsType != "overlay" {
		t.Fatalf("optional fields: %+v", mounts[4])
	}
	if _, err := ParseMountInfo(strings.NewReader("1 2 3\n")); err == nil {
		t.Fatal("a malformed line was accepted")
	}
}

func TestParseMountOptions(t *testing.T) {
	flags, data := ParseMountOptions([]string{"noatime,nouuid", "ro", "discard", "rw", "nodev"})
	if flags != unix.MS_NOATIME|unix.MS_NODEV {
		t.Fatalf("flags %#x", flags)
	}
	if data != "nouuid,discard" {
		t.Fatalf("data %q", data)
	}
	if flags, data := ParseMountOptions(nil); flags != 0 || data != "" {
		t.Fatal(flags, data)
	}
}

func TestMinSizes(t *testing.T) {
	if MinSize(XFS) < 300<<20 || MinSize(Ext4) > 64<<20 || !Supported("xfs") || !Supported("ext4") || Supported("btrfs") {
		t.Fatal("filesystem table")
	}
	if got := MountData(XFS); len(got) != 1 || got[0] != "nouuid" {
		t.Fatal(got)
	}
}
