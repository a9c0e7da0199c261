import { DeployedSetup } from "../../src/conformance/deployment.ts";
import { disruptionsOf, LedgerWriter, summarizeLedger, type LedgerSummary } from "../../src/conformance/ledger-writer.ts";
import { assertWithinBudget, deletePodAndMeasureRecovery, overlapSeconds, percentile, phaseNames, type RecoveryPhases, type Replacement } from "../../src/conformance/recovery.ts";
import { timeouts } from "../../src/timeouts.ts";
import { describe, expect, test, type Record_ } from "../support/test.ts";

const cycles = Number(process.env.SC_RECOVERY_CYCLES ?? 3);
const rolloutCycles = Number(process.env.SC_ROLLOUT_CYCLES ?? 1);
const budgetS = timeouts.recoveryBudgetMs / 1000;

/**
 * Replaces the MySQL pod `count` times while the ledger writer commits
 * through the design's Service, each replacement recovered within the budget
 * with the dataset unchanged; records the phases of each and the ledger's figures.
 */
async function replaceWithWritesInFlight(
  setup: DeployedSetup,
  how: Replacement,
  count: number,
  record: Record_,
  note: (text: string) => void,
  reportLedger: (ledger: LedgerSummary) => void,
): Promise<{ violations: string; acknowledged: number }> {
  record("replacement", how, "");
  const { checksums: before, seconds } = await setup.loadDataset();
  record("dataset_load_s", seconds, "s");
  for (const [table, { rows }] of Object.entries(before)) record(`rows_${table}`, rows, "rows");
  const writer = await LedgerWriter.start(setup, `${how.replace(/ /g, "-")}-${Date.now()}`);

  // A cycle over budget ends the check at once (a broken setup fails fast);
  // the figures of every cycle measured so far are recorded either way.
  const runs: RecoveryPhases[] = [];
  const moments: number[] = [];
  try {
    for (let cycle = 1; cycle <= count; cycle++) {
      const phases = await deletePodAndMeasureRecovery(setup, before, undefined, { how, onDisrupted: (t) => moments.push(t) });
      runs.push(phases);
      for (const name of phaseNames) record(`cycle${cycle}_${name}`, phases[name], "s");
      record(`cycle${cycle}_overlap_s`, overlapSeconds(phases), "s");
      assertWithinBudget(phases, timeouts.recoveryBudgetMs, cycle);
      await writer.settle();
    }
  } finally {
    const totals = runs.map((r) => r.firstVerifiedQuery_s);
    if (totals.length) {
      record("recovery_p50_s", percentile(totals, 50), "s");
      record("recovery_p95_s", percentile(totals, 95), "s");
      record("recovery_max_s", Math.max(...totals), "s");
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

describe("the ecomdb dataset and every acknowledged write", () => {
  test(`survive ${cycles} deletions of the MySQL pod, each recovered within ${budgetS} s, with writes in flight`, async ({ kube, namespace, manifests, record, note, reportLedger }) => {
    expect(Number.isInteger(cycles) && cycles > 0, `SC_RECOVERY_CYCLES=${process.env.SC_RECOVERY_CYCLES} is not a positive whole number`).toBe(true);
    const setup = await DeployedSetup.deploy(kube, namespace, manifests);
    const ledger = await replaceWithWritesInFlight(setup, "pod deletion", cycles, record, note, reportLedger);
    expect(ledger.violations, "acknowledged commits lost, or rows phantom, duplicated or corrupted (the ledger writer's record against the table)").toBe("");
    expect(ledger.acknowledged, "commits the writer saw acknowledged across the deletions").toBeGreaterThan(0);
  });

  test(`survive ${rolloutCycles} rollout restart${rolloutCycles > 1 ? "s" : ""} of the Deployment, recovered within ${budgetS} s, with writes in flight`, async ({ kube, namespace, manifests, record, note, reportLedger }) => {
    expect(Number.isInteger(rolloutCycles) && rolloutCycles > 0, `SC_ROLLOUT_CYCLES=${process.env.SC_ROLLOUT_CYCLES} is not a positive whole number`).toBe(true);
    const setup = await DeployedSetup.deploy(kube, namespace, manifests);
    const ledger = await replaceWithWritesInFlight(setup, "rollout restart", rolloutCycles, record, note, reportLedger);
    expect(ledger.violations, "acknowledged commits lost, or rows phantom, duplicated or corrupted (the ledger writer's record against the table)").toBe("");
    expect(ledger.acknowledged, "commits the writer saw acknowledged across the restarts").toBeGreaterThan(0);
  });
});
