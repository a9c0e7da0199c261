import { describe, expect, it } from "vitest";
import { findMount, kubeletCsiPath, mountIsClaim } from "../../src/conformance/mounts.ts";

// /proc/self/mountinfo lines as MySQL's container saw them (2026-12-06): local-path's directory, conformance-csi's loop-backed xfs.
const localPath =
  "1201 1180 0:52 /var/lib/rancher/k3s/storage/pvc-8c1d_sc-x_mysql-pvc /var/lib/mysql rw,relatime master:1 - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w";
const csi = "1301 1280 7:3 / /var/lib/mysql rw,relatime - xfs /dev/loop3 rw,attr2,inode64,logbufs=8,logbsize=32k,noquota";
const rootfs = "1100 1000 0:60 / / rw,relatime - overlay overlay rw,lowerdir=/l";

describe("the data directory's mount, as the pod sees it", () => {
  it("reads the root, device, source and type of the mount exactly at the mount point", () => {
    expect(findMount([rootfs, csi].join("\n"), "/var/lib/mysql")).toEqual({
      root: "/",
      fsType: "xfs",
      options: "rw,relatime,rw,attr2,inode64,logbufs=8,logbsize=32k,noquota",
      device: "7:3",
      source: "/dev/loop3",
    });
    expect(findMount(rootfs, "/var/lib/mysql")).toBeUndefined();
  });

  it("is the claim's volume: a node directory naming it, or a CSI volume's own filesystem mounted whole from a device", () => {
    const local = findMount(localPath, "/var/lib/mysql")!;
    expect(mountIsClaim(local, { name: "pvc-8c1d" })).toBe(true);
    expect(mountIsClaim(local, { name: "pvc-other" })).toBe(false);
    const whole = findMount(csi, "/var/lib/mysql")!;
    expect(mountIsClaim(whole, { name: "pvc-9f", csiDriver: "csi.storage-conformance.local" })).toBe(true);
    // The same mount for a volume that is not CSI, or the container's own root filesystem, is not the claim.
    expect(mountIsClaim(whole, { name: "pvc-9f" })).toBe(false);
    expect(mountIsClaim(findMount(rootfs, "/")!, { name: "pvc-9f", csiDriver: "csi.storage-conformance.local" })).toBe(false);
  });

  it("looks for a CSI volume on the node where the kubelet publishes it for the pod", () => {
    expect(kubeletCsiPath("0b7e", "pvc-9f")).toBe("/var/lib/kubelet/pods/0b7e/volumes/kubernetes.io~csi/pvc-9f/mount");
  });
});
