import {
  type AccessModeRow,
  accessModeTable,
  accessModeVerdict,
  capacityEnforced,
  commitsBetween,
  describeFullDisk,
  doubledRequest,
  expansionAllowedNote,
  expansionTimingNote,
  fullDiskRecoveryFinding,
  refusalFinding,
  withAccessModes,
} from "../../src/conformance/storage.ts";
import { knownClasses, listClassFacts, manifestsForNeed, runClassFacts } from "../../src/conformance/storage-classes.ts";
import { dataDirFilesystem, expandOnline, probeExpansionOnClass } from "../../src/conformance/storage-expansion.ts";
import {
  addBallast,
  fillUntilRefused,
  freeSpaceAndMeasure,
  observeFullDisk,
  prepareFiller,
  waitForWritesToMeetFullDisk,
} from "../../src/conformance/storage-full-disk.ts";
import { probeWhoCanMount } from "../../src/conformance/security-storage.ts";
import { dataClaimDriver } from "../../src/conformance/volume-snapshot.ts";
import { containerOverlap } from "../../src/conformance/storage-access.ts";
import type { DeployedSetup } from "../../src/design/deployment.ts";
import { usageThresholds } from "../../src/design/usage.ts";
import { disruptionsOf, LedgerWriter, type LedgerSummary, summarizeLedger } from "../../src/ledger/writer.ts";
import type { LoadedObject } from "../../src/manifests/load.ts";
import { parseQuantity } from "../../src/manifests/quantity.ts";
import { checkRules } from "../../src/manifests/rules.ts";
import { findDatabaseWorkload } from "../../src/manifests/workload.ts";
import { readStorageStatus } from "../../src/ops/status.ts";
import { deletePodAndMeasureRecovery, overlapSeconds } from "../../src/recovery/pod-replacement.ts";
import { nameOf } from "../../src/kube/names.ts";
import { timeouts } from "../../src/timeouts.ts";
import { describe, expect, runSettings, test } from "../support/test.ts";

const budgetS = timeouts.recoveryBudgetMs / 1000;
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

/** The data claim's request as the manifests declare it (the design's 1Gi). */
function declaredRequest(objects: LoadedObject[]): { claim: string; request: string; bytes: number } {
  const claim = findDatabaseWorkload(objects)?.claimName ?? "mysql-pvc";
  const declared = objects.find((o) => o.object.kind === "PersistentVolumeClaim" && o.object.metadata?.name === claim)?.object as
    | { spec?: { resources?: { requests?: { storage?: string } } } }
    | undefined;
  const request = declared?.spec?.resources?.requests?.storage ?? "1Gi";
  return { claim, request, bytes: parseQuantity(request) ?? 2 ** 30 };
}

describe("the data claim's StorageClass", () => {
  test('as this cluster has it, against the design\'s "Volume Snapshots: Weekly" and "Capacity Auto-scaling" (the static rule class-capabilities, judged with the cluster\'s classes)', async ({
    kube,
    manifests,
    record,
    note,
  }) => {
    const classes = await knownClasses(kube);
    const { className, missing } = await dataClaimDriver(kube, manifests);
    expect(missing, `the data claim's class is not on this cluster (kubectl get storageclass lists what it has)`).toBeUndefined();
    const known = classes.find((c) => c.name === className)!;
    record("class_allows_expansion", known.allowVolumeExpansion ? "yes" : "no", "");
    record("class_has_snapshot_class", known.snapshots ? "yes" : "no", "");
    const { dataDir, minStorage } = runSettings();
    const findings = checkRules(manifests, { dataDir, minStorage, classes }).filter((f) => f.rule === "class-capabilities");
    // The rule and the cluster's own objects must agree: a finding exactly when the class lacks one of the two.
    expect(findings.length, `class-capabilities on ${className}: ${JSON.stringify(known)}`).toBe(known.allowVolumeExpansion && known.snapshots ? 0 : 1);
    for (const f of findings) note(`finding: ${f.file}:${f.line} ${f.rule} ${f.message}. Fix: ${f.fix}`);
  });
});

describe("the data claim mysql-pvc", () => {
  test(`grows online to twice its size while the ledger writer commits: MySQL keeps serving, df in its pod shows the new size within ${timeouts.volumeExpansionMs / 1000} s, no acknowledged commit is lost; a class that refuses is reported against the design's "Expansion: Not supported"`, async ({
    kube,
    namespace,
    manifests,
    deployFresh,
    record,
    note,
    reportLedger,
    skip,
  }) => {
    const { request: size, bytes } = declaredRequest(manifests);
    const doubled = doubledRequest(bytes);
    const classes = await listClassFacts(kube);
    const runClass = await runClassFacts(kube, manifests, classes);
    // The run's own class first: does it refuse, as the design says its class does?
    if (runClass && !runClass.allowVolumeExpansion) {
      const image = findDatabaseWorkload(manifests)!.container.image!;
      const answer = await probeExpansionOnClass(kube, namespace, runClass.name, image, size, doubled);
      record(`expansion_on_${runClass.name}`, answer.accepted ? "accepted" : `refused${answer.status ? ` (HTTP ${answer.status})` : ""}`, "");
      const finding = refusalFinding(runClass.name, runClass.provisioner, answer);
      if (finding) note(`finding: ${finding}`);
    } else if (runClass) note(`finding: ${expansionAllowedNote(runClass.name)}`);

    const chosen = await manifestsForNeed(kube, manifests, "expansion");
    if ("skip" in chosen) return skip(`no online expansion to measure: ${chosen.skip}`);
    if (chosen.note) note(chosen.note);
    record("storage_class_used", chosen.className, "");
    const setup = await deployFresh(namespace, chosen.objects);
    const writer = await LedgerWriter.start(setup, `expansion-${Date.now()}`, runSettings().ledger);
    const moments: number[] = [];
    let facts: Awaited<ReturnType<typeof expandOnline>> | undefined;
    try {
      moments.push(Date.now());
      facts = await expandOnline(setup, doubled);
      await writer.settle();
    } finally {
      const ledger = summarizeLedger(await writer.stopAndVerify(), disruptionsOf("expansion", moments));
      reportLedger(ledger);
      expect(ledger.violations, "acknowledged commits lost while the claim grew, or rows phantom, duplicated or corrupted").toBe("");
    }
    record("expansion_requested", `${size} → ${doubled}`, "");
    record("expansion_df_s", facts.df_s, "s");
    if (facts.fileSystemResizePending_s !== undefined) record("expansion_controller_done_s", facts.fileSystemResizePending_s, "s");
    if (facts.claimCapacity_s !== undefined) record("expansion_claim_capacity_s", facts.claimCapacity_s, "s");
    note(expansionTimingNote(facts));
    record("df_before_mib", mib(facts.dfBeforeBytes), "MiB");
    record("df_after_mib", mib(facts.dfAfterBytes), "MiB");
    expect(
      { pod: facts.podAfter, restarts: facts.restarts },
      `MySQL kept serving from pod ${facts.podBefore} while ${setup.claimName} grew (a new pod or a restart means the expansion was not online; see the pod's events)`,
    ).toEqual({ pod: facts.podBefore, restarts: 0 });
  });

  test(`when full (on a class that enforces its size), keeps every acknowledged commit, acknowledges nothing it did not keep, and writes again once space is freed (timed against the ${budgetS} s budget); storage-status warns at ${usageThresholds.warnPercent}% and is critical at ${usageThresholds.criticalPercent}%`, async ({
    kube,
    namespace,
    manifests,
    deployFresh,
    record,
    note,
    reportLedger,
    skip,
  }) => {
    const chosen = await manifestsForNeed(kube, manifests, "csi");
    if ("skip" in chosen) return skip(`no class here fills as a real disk does: ${chosen.skip}`);
    if (chosen.note) note(chosen.note);
    record("storage_class_used", chosen.className, "");
    const setup = await deployFresh(namespace, chosen.objects);
    const pod = await setup.waitForReadyPod();
    const podName = nameOf(pod);
    const fs = await dataDirFilesystem(setup, podName);
    const { bytes: claimBytes } = declaredRequest(chosen.objects);
    if (!capacityEnforced(fs.sizeBytes, claimBytes))
      return skip(
        `StorageClass "${chosen.className}" does not enforce the claim's size: df shows ${mib(fs.sizeBytes)} MiB under a ${mib(claimBytes)} MiB claim`,
      );
    record("filesystem_mib", mib(fs.sizeBytes), "MiB");
    await prepareFiller(setup);
    const writer = await LedgerWriter.start(setup, `full-disk-${Date.now()}`, runSettings().ledger);
    const restartsBefore = setup.mysqlContainerStatus(pod)?.restartCount ?? 0;
    let fullAtMs = Date.now();
    let freedAtMs = Date.now();
    try {
      // Nearly full first: the operator commands must have said so before MySQL meets the wall.
      const warnAt = await addBallast(setup, podName, usageThresholds.warnPercent + 5, 1);
      const warned = await readStorageStatus(setup);
      record("status_at_percent_1", warnAt.usedPercent, "%");
      note(`storage-status at ${warnAt.usedPercent}% used: ${[...warned.warnings, ...warned.problems].join("; ") || "nothing"}`);
      expect(warned.warnings.join("; "), `storage-status warns with the filesystem ${warnAt.usedPercent}% full`).toMatch(/full|of the claim/);
      const criticalAt = await addBallast(setup, podName, usageThresholds.criticalPercent + 5, 2);
      const critical = await readStorageStatus(setup);
      record("status_at_percent_2", criticalAt.usedPercent, "%");
      note(`storage-status at ${criticalAt.usedPercent}% used: ${[...critical.warnings, ...critical.problems].join("; ") || "nothing"}`);
      expect(critical.problems.join("; "), `storage-status reports a problem with the filesystem ${criticalAt.usedPercent}% full`).toMatch(/critical/);

      // Then MySQL's own rows until it cannot write.
      const fill = await fillUntilRefused(setup);
      fullAtMs = fill.fullAtMs;
      record("disk_full_filler_rows", fill.rows, "MiB");
      record("disk_full_fill_s", fill.fill_s, "s");
      await waitForWritesToMeetFullDisk(setup, writer, fullAtMs, restartsBefore);
      const observed = await observeFullDisk(setup, fill, restartsBefore);
      const { behaviour, sentence } = describeFullDisk(observed);
      record("disk_full_behaviour", behaviour, "");
      if (observed.fillerError) record("disk_full_error", observed.fillerError, "");
      record("disk_full_reads_served", observed.readsServed ? "yes" : "no", "");
      record("disk_full_restarts", observed.restarts, "restarts");
      note(`with its claim full, ${sentence}`);

      const freed = await freeSpaceAndMeasure(setup);
      freedAtMs = freed.freedAtMs;
      record("disk_full_recovery_s", freed.recovered_s, "s");
      note(`the space was freed through ${freed.via}; MySQL committed again ${freed.recovered_s} s later`);
      // Writing again at all is checked (the wait's deadline); the time against the budget is a finding.
      const overBudget = fullDiskRecoveryFinding(freed.recovered_s, budgetS, behaviour, observed.logLines);
      if (overBudget) note(`finding: ${overBudget}`);
      await writer.settle();
    } finally {
      const outcome = await writer.stopAndVerify();
      const during = commitsBetween(outcome.log.commits, fullAtMs, freedAtMs);
      record("disk_full_ledger_acked", during.ack, "commits");
      record("disk_full_ledger_failed", during.fail, "commits");
      record("disk_full_ledger_in_doubt", during.indoubt, "commits");
      if (during.firstError) record("disk_full_ledger_error", during.firstError.slice(0, 200), "");
      const ledger = summarizeLedger(outcome, disruptionsOf("disk full", [fullAtMs]));
      reportLedger(ledger);
      expect(ledger.violations, "acknowledged commits lost on the full disk, or failed ones found in the table").toBe("");
    }
  });
});

/** One access mode's run: MySQL on the mode, a second pod beside it, a pod deletion, the ledger throughout. */
async function accessModeRun(
  setup: DeployedSetup,
  mode: AccessModeRow["mode"],
  record: (name: string, value: number | string, unit: string) => void,
): Promise<{ row: AccessModeRow; ledger: LedgerSummary }> {
  const prefix = mode === "ReadWriteOnce" ? "rwo" : "rwop";
  const writer = await LedgerWriter.start(setup, `${prefix}-${Date.now()}`, runSettings().ledger);
  const moments: number[] = [];
  const measured = await (async () => {
    const second = await probeWhoCanMount(setup);
    const old = nameOf(await setup.waitForReadyPod());
    const containers = containerOverlap(setup, old);
    containers.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    // Nothing compared but that the replacement answers: the ledger is the data under test.
    const recovery = await deletePodAndMeasureRecovery(setup, {}, undefined, { onDisrupted: (t) => moments.push(t) });
    const { overlap_s } = await containers;
    await writer.settle();
    return { second, recovery, overlap_s };
  })().catch(async (error: unknown) => {
    await writer.remove();
    throw error;
  });
  const ledger = summarizeLedger(await writer.stopAndVerify(), disruptionsOf("pod deletion", moments));
  const { second, recovery, overlap_s } = measured;
  const row: AccessModeRow = {
    mode,
    secondPodMounted: second.concurrent,
    secondPod: second.concurrent ? "mounted it" : second.detail.replace(/^the second pod /, ""),
    overlapS: overlap_s,
    recoveryS: recovery.firstVerifiedQuery_s,
    lost: Number(ledger.values.ledger_lost?.value ?? 0),
  };
  record(`${prefix}_second_pod_mounted`, row.secondPodMounted ? "yes" : "no", "");
  record(`${prefix}_containers_overlap_s`, row.overlapS, "s");
  // The pod object's milestone, as survival measures it: with ReadWriteOncePod it may outlive the old container by a moment.
  record(`${prefix}_old_pod_object_overlap_s`, overlapSeconds(recovery), "s");
  record(`${prefix}_recovery_s`, row.recoveryS, "s");
  record(`${prefix}_ledger_acknowledged`, Number(ledger.values.ledger_acknowledged?.value ?? 0), "commits");
  record(`${prefix}_ledger_lost`, row.lost, "commits");
  return { row, ledger };
}

describe("ReadWriteOncePod beside ReadWriteOnce", () => {
  test("with ReadWriteOncePod a second pod cannot mount the claim and the replacement waits for the old pod; with ReadWriteOnce both happen", async ({
    kube,
    namespace,
    freshNamespace,
    manifests,
    deployFresh,
    record,
    note,
    skip,
  }) => {
    const chosen = await manifestsForNeed(kube, manifests, "csi");
    if ("skip" in chosen) return skip(`ReadWriteOncePod needs a CSI volume: ${chosen.skip}`);
    if (chosen.note) note(chosen.note);
    record("storage_class_used", chosen.className, "");
    const { claim } = declaredRequest(chosen.objects);
    const rows: AccessModeRow[] = [];
    const violations: string[] = [];
    for (const [mode, ns] of [
      ["ReadWriteOnce", namespace],
      ["ReadWriteOncePod", freshNamespace],
    ] as const) {
      const setup = await deployFresh(ns, withAccessModes(chosen.objects, claim, [mode]));
      const { row, ledger } = await accessModeRun(setup, mode, record);
      rows.push(row);
      if (ledger.violations) violations.push(`${mode}: ${ledger.violations}`);
    }
    note(`side by side on StorageClass "${chosen.className}":\n${accessModeTable(rows)}`);
    const verdict = accessModeVerdict(rows);
    for (const finding of verdict.findings) note(`finding: ${finding}`);
    expect(violations.join("\n"), "acknowledged commits lost, or rows phantom, duplicated or corrupted").toBe("");
    expect(verdict.failure ?? "kept").toBe("kept");
  });
});
