/**
 * The storage suite's pure parts: which class each check runs on, the claim
 * as a check reshapes it (access mode, size), and the verdicts in the
 * design's words. The live parts are storage-expansion.ts,
 * storage-full-disk.ts and storage-access.ts.
 */
import type { LoadedObject, ManifestObject } from "../manifests/load.ts";

/** The project's own CSI class in the offline node (images/csi): enforced capacity, online expansion, snapshots, ReadWriteOncePod. */
export const csiClassName = "conformance-csi";

/** The design's words each check is judged against. */
export const designWords = {
  expansion: '"Expansion: Not supported" (Storage Classes and Performance: Default Storage Class)',
  autoScaling: '"Capacity Auto-scaling: Dynamic storage expansion based on usage" (Future Enhancements)',
  pvcSize: '"PVC Size: 1Gi (suitable for development/testing)" (Capacity Management)',
  readWriteOnce: '"ReadWriteOnce access mode prevents concurrent access" (Security Considerations: Access Control)',
} as const;

/** What a check needs to know of a StorageClass. */
export interface ClassFacts {
  name: string;
  provisioner: string;
  allowVolumeExpansion: boolean;
  /** The provisioner is a CSI driver the cluster knows (a CSIDriver object of that name): ReadWriteOncePod needs one. */
  csi: boolean;
}

/** What a check needs of the class: online expansion, or a CSI volume (enforced capacity, ReadWriteOncePod). */
export type ClassNeed = "expansion" | "csi";

export type ClassChoice = { className: string; fallback: boolean } | { skip: string };

const meets = (c: ClassFacts, need: ClassNeed) => (need === "expansion" ? c.allowVolumeExpansion : c.csi);
const needWords = {
  expansion: { has: "allows volume expansion", lacks: "does not allow volume expansion" },
  csi: { has: "is served by a CSI driver", lacks: "is not served by a CSI driver" },
} as const;

/**
 * The class a check runs on: the run's own (the manifests' class, or
 * --storage-class) when it has what the check needs, else conformance-csi
 * when the cluster has it and it does (`fallback`, said in the report), else
 * a skip naming what is missing.
 */
export function chooseClass(need: ClassNeed, runClass: ClassFacts | undefined, classes: ClassFacts[]): ClassChoice {
  if (runClass && meets(runClass, need)) return { className: runClass.name, fallback: false };
  const csi = classes.find((c) => c.name === csiClassName);
  if (csi && meets(csi, need)) return { className: csi.name, fallback: true };
  const able = classes.filter((c) => meets(c, need)).map((c) => c.name);
  const own = runClass
    ? `the run's class "${runClass.name}" (${runClass.provisioner}) ${needWords[need].lacks}`
    : "the data claim has no class on this cluster";
  return {
    skip: `${own}, and the cluster has no class "${csiClassName}" that ${needWords[need].has}${able.length ? ` (classes that do: ${able.join(", ")}; --storage-class NAME runs on one)` : ""}`,
  };
}

/** The sentence a report says when a check ran on conformance-csi instead of the run's class. */
export function fallbackNote(choice: { className: string; fallback: boolean }, runClassName: string | undefined, need: ClassNeed): string | undefined {
  if (!choice.fallback) return undefined;
  return `ran on StorageClass "${choice.className}" (the project's CSI driver), not the run's class "${runClassName ?? "(none)"}", which ${needWords[need].lacks}`;
}

interface ClaimSpecLike {
  accessModes?: string[];
  resources?: { requests?: Record<string, string> };
}

/** The manifests with the claim `claim` asking for `accessModes` instead (a copy). */
export function withAccessModes(objects: LoadedObject[], claim: string, accessModes: string[]): LoadedObject[] {
  return objects.map((loaded) => {
    if (loaded.object.kind !== "PersistentVolumeClaim" || loaded.object.metadata?.name !== claim) return loaded;
    const object = structuredClone(loaded.object) as ManifestObject & { spec?: ClaimSpecLike };
    object.spec = { ...object.spec, accessModes };
    return { ...loaded, object };
  });
}

/** The claim's request doubled, in binary units where it was given so ("1Gi" → "2Gi"); bytes otherwise. */
export function doubledRequest(requestBytes: number): string {
  const units: [string, number][] = [
    ["Ti", 2 ** 40],
    ["Gi", 2 ** 30],
    ["Mi", 2 ** 20],
  ];
  const doubled = requestBytes * 2;
  for (const [unit, size] of units) if (doubled % size === 0) return `${doubled / size}${unit}`;
  return String(doubled);
}

/**
 * The filesystem grew with the claim: its size rose by at least 90 % of the
 * claim's growth (a filesystem's own metadata keeps the rest: an xfs of a
 * 1Gi volume shows 960 MiB, of 2Gi 1984 MiB).
 */
export function filesystemGrew(beforeBytes: number, nowBytes: number, requestBeforeBytes: number, requestAfterBytes: number): boolean {
  return nowBytes - beforeBytes >= 0.9 * (requestAfterBytes - requestBeforeBytes);
}

/** The filesystem's size is the claim's (within a filesystem's overhead): the class enforces the claim's capacity. */
export function capacityEnforced(filesystemBytes: number, claimBytes: number): boolean {
  return filesystemBytes <= claimBytes * 1.1;
}

/** What the API server answered when the claim was grown: accepted, or refused with its reason. */
export type ExpansionAnswer = { accepted: true } | { accepted: false; status?: number; reason: string };

/** A class that refuses expansion, as a finding against the design's words (the design says "Not supported", then plans auto-scaling). */
export function refusalFinding(className: string, provisioner: string, answer: ExpansionAnswer): string | undefined {
  if (answer.accepted) return undefined;
  return (
    `growing a Bound claim of StorageClass "${className}" (${provisioner}) was refused by the API server (${answer.status ? `HTTP ${answer.status}: ` : ""}${answer.reason}): ` +
    `as the design says, ${designWords.expansion}; so its ${designWords.autoScaling} cannot happen on this class, and a 1Gi claim that fills must be moved to a new claim (dump and restore) or to a class with allowVolumeExpansion`
  );
}

/** Where the design's "Expansion: Not supported" is contradicted: the class expands, so the design's words undersell it. */
export function expansionAllowedNote(className: string): string {
  return `StorageClass "${className}" grows a claim online: the design's ${designWords.expansion} describes Minikube's class, not this one, and its ${designWords.autoScaling} is possible here`;
}

/**
 * Why `df` took as long as it did: the controller's part (the resizer's
 * ControllerExpandVolume) against the node's (the kubelet's NodeExpandVolume,
 * which it starts only when it next syncs the pod: every --sync-frequency,
 * 1 min by default, plus up to 50 % jitter, so 60–90 s after the last sync).
 */
export function expansionTimingNote(facts: { fileSystemResizePending_s?: number; df_s: number }): string {
  const controller = facts.fileSystemResizePending_s;
  const node = controller === undefined ? undefined : +(facts.df_s - controller).toFixed(2);
  return (
    `df showed the new size ${facts.df_s} s after the patch` +
    (controller === undefined
      ? ""
      : `: the controller's part (the resizer, ControllerExpandVolume) was done at ${controller} s, the node's (the kubelet's NodeExpandVolume) took ${node} s more`) +
    "; the kubelet expands a mounted volume only when it next syncs the pod (its --sync-frequency, 1 min by default, with up to 50 % jitter: 60–90 s between syncs), so an online expansion shows in the pod 0–90 s after the controller's part"
  );
}

/**
 * The full disk's recovery against the design's budget: a finding, not a
 * failure (the budget is the design's for a pod's restart, and the wait is
 * MySQL's own: it retries a binary-log write that met a full disk once a minute).
 */
export function fullDiskRecoveryFinding(recovered_s: number, budget_s: number, behaviour: FullDiskBehaviour, logLines: string[]): string | undefined {
  if (recovered_s <= budget_s) return undefined;
  const retry = logLines.some((l) => /Retry in 60 secs/i.test(l));
  return (
    `after its claim filled, MySQL wrote again ${recovered_s} s after the space was freed, over the design's ${budget_s} s recovery time (it ${behaviour} on the full disk)` +
    (retry
      ? `: mysqld waits on the full binary log and retries the write once a minute ("Retry in 60 secs"), so freeing space brings it back 0–60 s later`
      : "") +
    `; a 1Gi claim with no alert acted on before 90 % (storage-status, storage-monitor) means an outage of writes, not lost data`
  );
}

/** How MySQL behaved when its claim filled, from what the suite saw. */
export interface FullDiskObservation {
  /** The filler's first error from MySQL, if it got one. */
  fillerError?: string;
  /** A write that got no answer within the query deadline. */
  fillerHungS?: number;
  /** mysqld's container restarts while the disk was full. */
  restarts: number;
  /** A read (SELECT 1 through a new connection) answered while the disk was full. */
  readsServed: boolean;
  /** MySQL's own log lines about the full disk. */
  logLines: string[];
}

export type FullDiskBehaviour = "refused" | "hung" | "crashed" | "kept writing";

/** The behaviour in one word, and in a sentence for the report. */
export function describeFullDisk(o: FullDiskObservation): { behaviour: FullDiskBehaviour; sentence: string } {
  const log = o.logLines.length ? `; its log: ${o.logLines.slice(0, 3).join(" | ")}` : "";
  const reads = o.readsServed ? "reads were still served" : "reads were not served";
  if (o.restarts > 0)
    return {
      behaviour: "crashed",
      sentence: `mysqld exited when its claim filled (the container restarted ${o.restarts} time${o.restarts === 1 ? "" : "s"}); ${reads}${log}`,
    };
  if (o.fillerHungS !== undefined)
    return {
      behaviour: "hung",
      sentence: `a write waited ${o.fillerHungS} s without an answer (MySQL waits for free space instead of failing the statement); ${reads}${log}`,
    };
  if (o.fillerError) return { behaviour: "refused", sentence: `MySQL refused the write (${o.fillerError}) and kept running; ${reads}${log}` };
  return { behaviour: "kept writing", sentence: `MySQL kept accepting writes: the claim never filled${log}` };
}

/** The ledger's commits by outcome within a window (Unix ms): what the application saw while the disk was full. */
export function commitsBetween(
  commits: { state: string; tDoneMs: number; err?: string }[],
  fromMs: number,
  toMs: number,
): { ack: number; fail: number; indoubt: number; firstError?: string } {
  const within = commits.filter((c) => c.tDoneMs >= fromMs && c.tDoneMs <= toMs);
  const firstError = within.find((c) => c.state !== "ack" && c.err)?.err;
  return {
    ack: within.filter((c) => c.state === "ack").length,
    fail: within.filter((c) => c.state === "fail").length,
    indoubt: within.filter((c) => c.state === "indoubt").length,
    ...(firstError ? { firstError } : {}),
  };
}

/** Bytes to add to a filesystem so that `targetPercent` of it is used (0 when it already is). */
export function ballastBytes(fs: { sizeBytes: number; availableBytes: number }, targetPercent: number): number {
  const used = fs.sizeBytes - fs.availableBytes;
  const wanted = Math.floor((fs.sizeBytes * targetPercent) / 100) - used;
  return Math.max(0, Math.floor(wanted / 2 ** 20) * 2 ** 20);
}

/** One access mode's side of the comparison. */
export interface AccessModeRow {
  mode: "ReadWriteOnce" | "ReadWriteOncePod";
  secondPodMounted: boolean;
  /** The second pod's outcome in words (the scheduler's reason when it stayed unscheduled). */
  secondPod: string;
  /** Seconds both pods' MySQL containers ran at once after a deletion (the replacement's beside the old one's). */
  overlapS: number;
  recoveryS: number;
  lost: number;
}

/** The verdict: with ReadWriteOncePod no second pod and no overlap; ReadWriteOnce's overlap is the design's finding, not a failure. */
export function accessModeVerdict(rows: AccessModeRow[]): { failure?: string; findings: string[] } {
  const findings: string[] = [];
  const rwo = rows.find((r) => r.mode === "ReadWriteOnce");
  const rwop = rows.find((r) => r.mode === "ReadWriteOncePod");
  if (rwo?.secondPodMounted || (rwo && rwo.overlapS > 0))
    findings.push(
      `with ReadWriteOnce ${[rwo.secondPodMounted ? "a second pod on MySQL's node mounted the claim" : "", rwo.overlapS > 0 ? `the replacement ran ${rwo.overlapS} s beside the old pod` : ""].filter(Boolean).join(" and ")}: ${designWords.readWriteOnce} does not hold; ReadWriteOncePod is the mode that does`,
    );
  const failures: string[] = [];
  if (rwop?.secondPodMounted) failures.push(`with ReadWriteOncePod a second pod mounted the claim (expected it to stay unscheduled; seen: ${rwop.secondPod})`);
  if (rwop && rwop.overlapS > 0)
    failures.push(`with ReadWriteOncePod the replacement ran ${rwop.overlapS} s beside the old pod (expected 0 s: it waits for the old pod)`);
  for (const r of rows) if (r.lost > 0) failures.push(`${r.lost} acknowledged commits lost with ${r.mode}`);
  return {
    ...(failures.length ? { failure: `${failures.join("; ")}; look at the pods' events and the scheduler's conditions in the check's failure folder` } : {}),
    findings,
  };
}

/** The side-by-side table, as Markdown lines for the report's notes. */
export function accessModeTable(rows: AccessModeRow[]): string {
  return [
    "| access mode | second pod on MySQL's node | both MySQL containers running after a pod deletion | recovery | acknowledged commits lost |",
    "|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.mode} | ${r.secondPod} | ${r.overlapS} s | ${r.recoveryS} s | ${r.lost} |`),
  ].join("\n");
}
