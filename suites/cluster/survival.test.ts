import { crashMysqldAndMeasure } from "../../src/conformance/crash.ts";
import type { DeployedSetup } from "../../src/design/deployment.ts";
import { disruptionsOf, LedgerWriter, summarizeLedger, type LedgerSummary } from "../../src/ledger/writer.ts";
import {
  deletePodAndMeasureRecovery,
  overBudget,
  overlapSeconds,
  phaseNames,
  type RecoveryPhases,
  type Replacement,
} from "../../src/recovery/pod-replacement.ts";
import { timeouts } from "../../src/timeouts.ts";
import type { TableChecksums } from "../../src/mysql/dataset.ts";
import { describe, designPerFile, expect, type Record_, recordSpread, runSettings, test } from "../support/test.ts";

const {
  podDeletions: cycles,
  rollouts: rolloutCycles,
  /** Crashes of mysqld, each the first crash of its container (see the crash check). */
  crashes: crashCycles,
} = runSettings().cycles;
const budgetS = timeouts.recoveryBudgetMs / 1000;

/**
 * Replaces the MySQL pod `count` times while the ledger writer commits
 * through the design's Service, each replacement recovered within the budget
 * with the dataset unchanged; records the phases of each and the ledger's figures.
 */
async function replaceWithWritesInFlight(
  setup: DeployedSetup,
  before: TableChecksums,
  how: Replacement,
  count: number,
  record: Record_,
  note: (text: string) => void,
  reportLedger: (ledger: LedgerSummary) => void,
): Promise<{ violations: string; acknowledged: number }> {
  record("replacement", how, "");
  for (const [table, { rows }] of Object.entries(before)) record(`rows_${table}`, rows, "rows");
  const writer = await LedgerWriter.start(setup, `${how.replace(/ /g, "-")}-${Date.now()}`, runSettings().ledger);

  // A cycle over budget ends the check at once (a broken setup fails fast);
  // the figures of every cycle measured so far are recorded either way.
  const runs: RecoveryPhases[] = [];
  const moments: number[] = [];
  try {
    for (let cycle = 1; cycle <= count; cycle++) {
      const phases = await deletePodAndMeasureRecovery(setup, before, undefined, { how, onDisrupted: (t) => moments.push(t) });
      expect(phases.dataDifferences, `the dataset is unchanged across ${phases.across}`).toEqual([]);
      runs.push(phases);
      for (const name of phaseNames) record(`cycle${cycle}_${name}`, phases[name], "s");
      record(`cycle${cycle}_overlap_s`, overlapSeconds(phases), "s");
      expect(overBudget(phases, timeouts.recoveryBudgetMs, cycle), `recovery ${cycle} within the ${budgetS} s budget`).toBeUndefined();
      await writer.settle();
    }
  } finally {
    const totals = runs.map((r) => r.firstVerifiedQuery_s);
    if (totals.length) {
      recordSpread(record, "recovery", totals);
    }
    record("recovery_cycles", totals.length, "cycles");
    record("recovery_budget_s", budgetS, "s");
    record("recovery_clock", "client clock, polled every 100 ms", "");
    const overlaps = runs.map(overlapSeconds).filter((s) => s > 0);
    if (overlaps.length) {
      note(
        `the design says ReadWriteOnce prevents concurrent access; here the replacement's mysql container was running while the old pod still held the volume ` +
          `in ${overlaps.length} of ${runs.length} cycles of ${how} (up to ${Math.max(...overlaps)} s): ReadWriteOnce limits a volume to one node, not one pod (ReadWriteOncePod would make the new pod wait)`,
      );
    }
  }
  const ledger = summarizeLedger(await writer.stopAndVerify(), disruptionsOf(how, moments));
  reportLedger(ledger);
  return { violations: ledger.violations, acknowledged: Number(ledger.values.ledger_acknowledged?.value ?? 0) };
}

// One deployment of the design lives through the pod deletions, the rollout restarts
// and the crash, in that order (each check verifies the dataset and its own ledger).
// The crash comes last: it is the first crash of the rollout's fresh container, so
// the kubelet's restart back-off (the crash series in resilience) is not in it.
const design = designPerFile("survival");

describe("the ecomdb dataset and every acknowledged write", () => {
  test(`survive ${cycles} deletions of the MySQL pod, each recovered within ${budgetS} s, with writes in flight`, async ({
    kube,
    cluster,
    manifests,
    record,
    note,
    reportLedger,
  }) => {
    const { setup, before, loadSeconds, dataDirFrom } = await design({ kube, manifests, cluster });
    record("data_dir_from", dataDirFrom, "");
    record("dataset_load_s", loadSeconds, "s");
    const ledger = await replaceWithWritesInFlight(setup, before, "pod deletion", cycles, record, note, reportLedger);
    expect(ledger.violations, "acknowledged commits lost, or rows phantom, duplicated or corrupted (the ledger writer's record against the table)").toBe("");
    expect(ledger.acknowledged, "commits the writer saw acknowledged across the deletions").toBeGreaterThan(0);
  });

  test(`survive ${rolloutCycles} rollout restart${rolloutCycles > 1 ? "s" : ""} of the Deployment, recovered within ${budgetS} s, with writes in flight`, async ({
    kube,
    cluster,
    manifests,
    record,
    note,
    reportLedger,
  }) => {
    const { setup, before } = await design({ kube, manifests, cluster });
    const ledger = await replaceWithWritesInFlight(setup, before, "rollout restart", rolloutCycles, record, note, reportLedger);
    expect(ledger.violations, "acknowledged commits lost, or rows phantom, duplicated or corrupted (the ledger writer's record against the table)").toBe("");
    expect(ledger.acknowledged, "commits the writer saw acknowledged across the restarts").toBeGreaterThan(0);
  });
  // Each crash is the first of its container: after a crash has been recovered, the
  // pod is deleted (its own recovery, verified, not counted as a crash) so the next
  // crash meets no restart back-off. Crashes in a row are the crash series' subject
  // (resilience.test.ts, SC_CRASH_SERIES), never spaced out there.
  test(`survive ${crashCycles} crash${crashCycles > 1 ? "es" : ""} of mysqld (SIGKILL), each recovered within ${budgetS} s, with no acknowledged write lost`, async ({
    cluster,
    kube,
    manifests,
    record,
    reportLedger,
    skip,
  }) => {
    if (!cluster.nodeContainerId) return skip("a crash needs the node's process table: only on the embedded cluster");
    const { setup, before } = await design({ kube, manifests, cluster });
    const writer = await LedgerWriter.start(setup, `crash-${Date.now()}`, runSettings().ledger);
    const moments: number[] = [];
    const resets: number[] = [];
    const recoveries: number[] = [];
    let ledger: LedgerSummary | undefined;
    try {
      for (let cycle = 1; cycle <= crashCycles; cycle++) {
        if (cycle > 1) {
          // The reset's own pause in writes ends the previous crash's window.
          resets.push(Date.now());
          const reset = await deletePodAndMeasureRecovery(setup, before);
          expect(reset.dataDifferences, `the dataset is unchanged across ${reset.across}, the reset between crashes`).toEqual([]);
          await writer.settle();
        }
        const crash = await crashMysqldAndMeasure(setup, cluster.nodeContainerId, before, { onDisrupted: (t) => moments.push(t) });
        expect(crash.dataDifferences, `the dataset is unchanged across ${crash.across}`).toEqual([]);
        recoveries.push(crash.firstVerifiedQuery_s);
        // The first crash under the plain names (the report puts it against the floor); every cycle's with its number.
        for (const prefix of [...(cycle === 1 ? [""] : []), ...(crashCycles > 1 ? [`cycle${cycle}_`] : [])]) {
          record(`${prefix}killed`, crash.killed, "");
          record(`${prefix}crash_container_restarted_s`, crash.containerRestarted_s, "s");
          record(`${prefix}crash_mysqld_ready_s`, crash.mysqldReady_s, "s");
          record(`${prefix}crash_recovery_s`, crash.firstVerifiedQuery_s, "s");
        }
        await writer.settle();
        expect(
          crash.firstVerifiedQuery_s,
          `after crash ${cycle} MySQL served verified data ${crash.firstVerifiedQuery_s} s after the SIGKILL, over the ${budgetS} s budget (restarted at ${crash.containerRestarted_s} s, ready at ${crash.mysqldReady_s} s)`,
        ).toBeLessThanOrEqual(budgetS);
      }
    } finally {
      if (crashCycles > 1 && recoveries.length) {
        record("crash_cycles", recoveries.length, "cycles");
        recordSpread(record, "crash_recovery", recoveries);
      }
      const crashes = disruptionsOf("mysqld SIGKILL", moments).map((d, i) => ({ ...d, untilMs: resets[i] }));
      ledger = summarizeLedger(await writer.stopAndVerify(), crashes);
      reportLedger(ledger);
    }
    expect(ledger.violations, "acknowledged commits lost across the crashes, or rows phantom, duplicated or corrupted").toBe("");
  });
});
