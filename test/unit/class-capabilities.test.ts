import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadManifests } from "../../src/manifests/load.ts";
import { checkRules, type KnownClass } from "../../src/manifests/rules.ts";

const standard: KnownClass = { name: "standard", provisioner: "rancher.io/local-path", isDefault: false, allowVolumeExpansion: false, snapshots: false };
const csi: KnownClass = {
  name: "conformance-csi",
  provisioner: "conformance-csi.storage-conformance.local",
  isDefault: true,
  allowVolumeExpansion: true,
  snapshots: true,
};
const options = { dataDir: "/var/lib/mysql", minStorage: "1Gi" };

/** The design's manifests, the PVC's storageClassName line rewritten by `edit`. */
function designWith(edit: (pvc: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), "sc-classcap-"));
  cpSync("manifests", dir, { recursive: true });
  const pvc = join(dir, "mysql-pvc.yaml");
  writeFileSync(pvc, edit(readFileSync(pvc, "utf8")));
  return dir;
}

const classFindings = (dir: string, classes?: KnownClass[]) =>
  checkRules(loadManifests(dir), { ...options, ...(classes ? { classes } : {}) })
    .filter((f) => f.rule === "class-capabilities")
    .map((f) => `${f.file.split("/").pop()}:${f.line} ${f.severity} ${f.message}`);

describe("class-capabilities: the data claim's class as the live cluster has it", () => {
  it("judges nothing in static mode, where no cluster tells what the class can do", () => {
    expect(classFindings("manifests")).toEqual([]);
  });

  it("names both of the design's claims a class without snapshots or expansion cannot keep, at the claim's storageClassName line", () => {
    const line =
      readFileSync("manifests/mysql-pvc.yaml", "utf8")
        .split("\n")
        .findIndex((l) => l.includes("storageClassName")) + 1;
    expect(classFindings("manifests", [standard, csi])).toEqual([
      `mysql-pvc.yaml:${line} warning data claim mysql-pvc is provisioned by StorageClass "standard" (rancher.io/local-path) on this cluster: it has no VolumeSnapshotClass for its driver rancher.io/local-path, so the design's "Volume Snapshots: Weekly filesystem-level backups" (Backup Strategy: Automated Backups) cannot be taken; and it allows no volume expansion (allowVolumeExpansion is not true), so the design's planned "Capacity Auto-scaling: Dynamic storage expansion based on usage" (Future Enhancements) cannot happen on it`,
    ]);
  });

  it("names only what the class lacks, and nothing for a class that can do both", () => {
    expect(classFindings("manifests", [{ ...standard, snapshots: true }])).toEqual([
      expect.stringMatching(/: it allows no volume expansion .*Capacity Auto-scaling/),
    ]);
    expect(classFindings("manifests", [{ ...standard, allowVolumeExpansion: true, snapshots: true }])).toEqual([]);
  });

  it("judges the cluster's default class for a claim that names none, and leaves a class the cluster lacks to the binding check", () => {
    const none = designWith((pvc) => pvc.replace(/^\s*storageClassName:.*\n/m, ""));
    expect(classFindings(none, [standard, { ...csi, isDefault: true, snapshots: false }])).toEqual([
      expect.stringContaining(
        `is provisioned by the cluster's default StorageClass "conformance-csi" (conformance-csi.storage-conformance.local) on this cluster: it has no VolumeSnapshotClass`,
      ),
    ]);
    expect(classFindings("manifests", [csi])).toEqual([]);
  });
});
