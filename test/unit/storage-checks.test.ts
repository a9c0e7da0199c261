import { describe, expect, test } from "vitest";
import {
  type AccessModeRow,
  accessModeTable,
  accessModeVerdict,
  ballastBytes,
  capacityEnforced,
  chooseClass,
  type ClassFacts,
  commitsBetween,
  describeFullDisk,
  doubledRequest,
  expansionTimingNote,
  fullDiskRecoveryFinding,
  fallbackNote,
  filesystemGrew,
  refusalFinding,
  withAccessModes,
} from "../../src/conformance/storage.ts";
import { fillSql } from "../../src/conformance/storage-full-disk.ts";
import { usageAlerts, usageThresholds } from "../../src/design/usage.ts";
import type { LoadedObject } from "../../src/manifests/load.ts";

const standard: ClassFacts = { name: "standard", provisioner: "rancher.io/local-path", allowVolumeExpansion: false, csi: false };
const csi: ClassFacts = { name: "conformance-csi", provisioner: "csi.storage-conformance.local", allowVolumeExpansion: true, csi: true };
const gp3: ClassFacts = { name: "gp3", provisioner: "ebs.csi.aws.com", allowVolumeExpansion: true, csi: true };

describe("the class a storage check runs on", () => {
  test("the run's class when it has what the check needs", () => {
    expect(chooseClass("expansion", gp3, [gp3, csi])).toEqual({ className: "gp3", fallback: false });
    expect(chooseClass("csi", gp3, [gp3])).toEqual({ className: "gp3", fallback: false });
  });
  test("else conformance-csi, said so in the report", () => {
    const choice = chooseClass("expansion", standard, [standard, csi]);
    expect(choice).toEqual({ className: "conformance-csi", fallback: true });
    expect(fallbackNote(choice as { className: string; fallback: boolean }, "standard", "expansion")).toBe(
      `ran on StorageClass "conformance-csi" (the project's CSI driver), not the run's class "standard", which does not allow volume expansion`,
    );
    expect(chooseClass("csi", standard, [standard, csi])).toEqual({ className: "conformance-csi", fallback: true });
  });
  test("else a skip naming what is missing and the classes that would do", () => {
    expect(chooseClass("expansion", standard, [standard])).toEqual({
      skip: `the run's class "standard" (rancher.io/local-path) does not allow volume expansion, and the cluster has no class "conformance-csi" that allows volume expansion`,
    });
    const skip = chooseClass("csi", standard, [standard, gp3]);
    expect(skip).toMatchObject({ skip: expect.stringContaining("(classes that do: gp3; --storage-class NAME runs on one") });
    expect(chooseClass("csi", undefined, [])).toMatchObject({ skip: expect.stringMatching(/^the data claim has no class on this cluster/) });
  });
});

describe("the claim reshaped and grown", () => {
  const claim = {
    file: "pvc.yaml",
    line: 1,
    object: { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "mysql-pvc" }, spec: { accessModes: ["ReadWriteOnce"] } },
  };
  test("withAccessModes changes only the named claim, on a copy", () => {
    const other = { ...claim, object: { ...claim.object, metadata: { name: "backup-pvc" } } };
    const out = withAccessModes([claim, other] as unknown as LoadedObject[], "mysql-pvc", ["ReadWriteOncePod"]);
    expect((out[0]!.object as unknown as { spec: { accessModes: string[] } }).spec.accessModes).toEqual(["ReadWriteOncePod"]);
    expect(out[1]).toBe(other as unknown);
    expect(claim.object.spec.accessModes).toEqual(["ReadWriteOnce"]);
  });
  test("doubledRequest keeps binary units", () => {
    expect(doubledRequest(2 ** 30)).toBe("2Gi");
    expect(doubledRequest(1.5 * 2 ** 30)).toBe("3Gi");
    expect(doubledRequest(300 * 2 ** 20)).toBe("600Mi");
    expect(doubledRequest(1000)).toBe("2000");
  });
  test("the filesystem grew: xfs of 1Gi → 2Gi shows 960 → 1984 MiB", () => {
    expect(filesystemGrew(960 * 2 ** 20, 1984 * 2 ** 20, 2 ** 30, 2 ** 31)).toBe(true);
    expect(filesystemGrew(960 * 2 ** 20, 960 * 2 ** 20, 2 ** 30, 2 ** 31)).toBe(false);
  });
  test("the time to df split into the controller's part and the kubelet's, with why the kubelet's takes up to 90 s", () => {
    const note = expansionTimingNote({ fileSystemResizePending_s: 0.65, df_s: 66.41 });
    expect(note).toMatch(
      /^df showed the new size 66.41 s after the patch: the controller's part \(the resizer, ControllerExpandVolume\) was done at 0.65 s, the node's \(the kubelet's NodeExpandVolume\) took 65.76 s more; /,
    );
    expect(note).toContain("60–90 s between syncs");
  });
  test("capacity is enforced when df is the claim's size, not the node's disk", () => {
    expect(capacityEnforced(960 * 2 ** 20, 2 ** 30)).toBe(true);
    expect(capacityEnforced(250 * 2 ** 30, 2 ** 30)).toBe(false);
  });
  test("a refusal is a finding against the design's words; an acceptance is none", () => {
    const finding = refusalFinding("standard", "rancher.io/local-path", {
      accepted: false,
      status: 403,
      reason:
        'persistentvolumeclaims "p" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize',
    });
    expect(finding).toContain('StorageClass "standard" (rancher.io/local-path) was refused by the API server (HTTP 403: persistentvolumeclaims');
    expect(finding).toContain('"Expansion: Not supported"');
    expect(finding).toContain('"Capacity Auto-scaling: Dynamic storage expansion based on usage" (Future Enhancements) cannot happen on this class');
    expect(refusalFinding("gp3", "ebs.csi.aws.com", { accepted: true })).toBeUndefined();
  });
});

describe("the full disk", () => {
  test("ballast to reach a percentage, in whole MiB, never negative", () => {
    const fs = { sizeBytes: 960 * 2 ** 20, availableBytes: 700 * 2 ** 20 };
    expect(ballastBytes(fs, 85)).toBe(556 * 2 ** 20);
    expect(ballastBytes(fs, 10)).toBe(0);
  });
  test("MySQL's behaviour in one word and a sentence", () => {
    expect(describeFullDisk({ restarts: 1, readsServed: false, logLines: ["[ERROR] [MY-011072] [Server] Binary logging not possible."] })).toEqual({
      behaviour: "crashed",
      sentence:
        "mysqld exited when its claim filled (the container restarted 1 time); reads were not served; its log: [ERROR] [MY-011072] [Server] Binary logging not possible.",
    });
    expect(describeFullDisk({ fillerHungS: 15, restarts: 0, readsServed: true, logLines: [] }).behaviour).toBe("hung");
    const refused = describeFullDisk({ fillerError: "1114 The table 'filler' is full", restarts: 0, readsServed: true, logLines: [] });
    expect(refused).toEqual({
      behaviour: "refused",
      sentence: "MySQL refused the write (1114 The table 'filler' is full) and kept running; reads were still served",
    });
  });
  test("a recovery over the budget after the full disk is a finding naming MySQL's minute-long retry", () => {
    const log = [
      "[ERROR] [MY-000035] [Server] Disk is full writing './binlog.000001' (OS errno 28 - No space left on device). Waiting for someone to free space... Retry in 60 secs.",
    ];
    expect(fullDiskRecoveryFinding(12, 30, "hung", log)).toBeUndefined();
    expect(fullDiskRecoveryFinding(44.84, 30, "hung", log)).toBe(
      'after its claim filled, MySQL wrote again 44.84 s after the space was freed, over the design\'s 30 s recovery time (it hung on the full disk): mysqld waits on the full binary log and retries the write once a minute ("Retry in 60 secs"), so freeing space brings it back 0–60 s later; a 1Gi claim with no alert acted on before 90 % (storage-status, storage-monitor) means an outage of writes, not lost data',
    );
  });
  test("the ledger's commits while the disk was full, with the first error", () => {
    const commits = [
      { state: "ack", tDoneMs: 5 },
      { state: "ack", tDoneMs: 10 },
      { state: "fail", tDoneMs: 11, err: "exec: Error 1114: The table 'ledger' is full" },
      { state: "indoubt", tDoneMs: 12, err: "commit: Error 3" },
      { state: "ack", tDoneMs: 30 },
    ];
    expect(commitsBetween(commits, 10, 20)).toEqual({ ack: 1, fail: 1, indoubt: 1, firstError: "exec: Error 1114: The table 'ledger' is full" });
  });
  test("the filler qualifies every table with its database (a connection without one answers 1046)", () => {
    for (const sql of [...fillSql.create.slice(1), fillSql.insert, fillSql.probe]) expect(sql).toMatch(/ sc_fill\.(filler|probe) /);
  });
  test(`storage-status warns at ${usageThresholds.warnPercent}% and is critical at ${usageThresholds.criticalPercent}%, of the claim and of the filesystem`, () => {
    const usage = (fsPercent: number, claimPercent?: number) => ({
      usedBytes: 1,
      ...(claimPercent === undefined ? {} : { claimBytes: 2 ** 30, percentOfClaim: claimPercent }),
      filesystem: { sizeBytes: 1, availableBytes: 0, usedPercent: fsPercent },
    });
    expect(usageAlerts(usage(79.9, 50))).toEqual({ warnings: [], problems: [] });
    expect(usageAlerts(usage(85, 79.7), "/var/lib/mysql")).toEqual({
      warnings: ["the filesystem under /var/lib/mysql is 85% full (warning at 80%)"],
      problems: [],
    });
    expect(usageAlerts(usage(95, 92))).toEqual({
      warnings: [],
      problems: ["MySQL's files take 92% of the claim (critical at 90%)", "the filesystem under the data directory is 95% full (critical at 90%)"],
    });
  });
});

describe("ReadWriteOncePod beside ReadWriteOnce", () => {
  const rwo: AccessModeRow = { mode: "ReadWriteOnce", secondPodMounted: true, secondPod: "mounted it", overlapS: 2.95, recoveryS: 4.12, lost: 0 };
  const rwop: AccessModeRow = {
    mode: "ReadWriteOncePod",
    secondPodMounted: false,
    secondPod:
      "did not run within 30 s (phase Pending; not scheduled: 0/1 nodes are available: 1 node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode.)",
    overlapS: 0,
    recoveryS: 5.75,
    lost: 0,
  };
  test("ReadWriteOnce's second pod and overlap are the design's finding; ReadWriteOncePod keeps both out", () => {
    const verdict = accessModeVerdict([rwo, rwop]);
    expect(verdict.failure).toBeUndefined();
    expect(verdict.findings).toEqual([
      'with ReadWriteOnce a second pod on MySQL\'s node mounted the claim and the replacement ran 2.95 s beside the old pod: "ReadWriteOnce access mode prevents concurrent access" (Security Considerations: Access Control) does not hold; ReadWriteOncePod is the mode that does',
    ]);
  });
  test("a ReadWriteOncePod claim that lets a second pod in, or overlaps, fails saying what was expected and seen", () => {
    const verdict = accessModeVerdict([rwo, { ...rwop, secondPodMounted: true, secondPod: "mounted it", overlapS: 1.2, lost: 2 }]);
    expect(verdict.failure).toBe(
      "with ReadWriteOncePod a second pod mounted the claim (expected it to stay unscheduled; seen: mounted it); with ReadWriteOncePod the replacement ran 1.2 s beside the old pod (expected 0 s: it waits for the old pod); 2 acknowledged commits lost with ReadWriteOncePod; look at the pods' events and the scheduler's conditions in the check's failure folder",
    );
  });
  test("the side-by-side table", () => {
    expect(accessModeTable([rwo, rwop]).split("\n")).toHaveLength(4);
    expect(accessModeTable([rwo])).toContain("| ReadWriteOnce | mounted it | 2.95 s | 4.12 s | 0 |");
  });
});
