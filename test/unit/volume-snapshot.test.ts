import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { chooseSnapshotClass, claimFromSnapshot, snapshotObject, snapshotUnavailable } from "../../src/conformance/volume-snapshot.ts";

const classes = [
  { name: "zz-plain", driver: "ebs.csi.aws.com", isDefault: false },
  { name: "b-default", driver: "ebs.csi.aws.com", isDefault: true },
  { name: "hostpath", driver: "hostpath.csi.k8s.io", isDefault: false },
];

describe("volume snapshots: the class, the objects, the reason when there is none", () => {
  it("takes the driver's default class, else its first by name, never another driver's", () => {
    expect(chooseSnapshotClass(classes, "ebs.csi.aws.com")?.name).toBe("b-default");
    expect(chooseSnapshotClass(classes.slice(0, 1), "ebs.csi.aws.com")?.name).toBe("zz-plain");
    expect(chooseSnapshotClass(classes, "rancher.io/local-path")).toBeUndefined();
  });

  it("says why no snapshot can be taken: no API, or no class for the claim's driver", () => {
    expect(snapshotUnavailable("no-api", "rancher.io/local-path")).toMatch(
      /^the cluster serves no VolumeSnapshot API \(snapshot\.storage\.k8s\.io\/v1.*the design's weekly volume snapshots cannot run on this cluster$/,
    );
    expect(snapshotUnavailable(classes, "rancher.io/local-path")).toBe(
      "no VolumeSnapshotClass for the claim's driver rancher.io/local-path (classes exist for ebs.csi.aws.com, hostpath.csi.k8s.io): the design's weekly volume snapshots cannot run on this cluster",
    );
    expect(snapshotUnavailable([], "x")).toBe(
      "no VolumeSnapshotClass for the claim's driver x: the design's weekly volume snapshots cannot run on this cluster",
    );
    expect(snapshotUnavailable(classes, "hostpath.csi.k8s.io")).toBeUndefined();
  });

  it("snapshots the claim with the class, and makes the declared claim again from the snapshot", () => {
    expect(snapshotObject("s1", "ns", "mysql-pvc", "b-default")).toEqual({
      apiVersion: "snapshot.storage.k8s.io/v1",
      kind: "VolumeSnapshot",
      metadata: { name: "s1", namespace: "ns" },
      spec: { volumeSnapshotClassName: "b-default", source: { persistentVolumeClaimName: "mysql-pvc" } },
    });
    const declared: V1PersistentVolumeClaim = {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "mysql-pvc" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      status: { phase: "Bound" },
    };
    const claim = claimFromSnapshot(declared, "s1", "512Mi");
    expect(claim.spec).toEqual({
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: "1Gi" } },
      dataSource: { apiGroup: "snapshot.storage.k8s.io", kind: "VolumeSnapshot", name: "s1" },
    });
    // A driver that rounded the volume up: the claim asks for the snapshot's size, or the provisioner refuses it.
    expect(claimFromSnapshot(declared, "s1", "10Gi").spec!.resources).toEqual({ requests: { storage: "10Gi" } });
    expect(claim.status).toBeUndefined();
    expect(declared.spec!.dataSource).toBeUndefined(); // the declared object is left as it was
  });
});
