import type { V1Pod } from "@kubernetes/client-node";
import { isNotFound } from "../kube/client.ts";
import { collectDiagnostics } from "../kube/diagnostics.ts";
import { isPodReady } from "../kube/waits.ts";
import { WaitError } from "../kube/wait.ts";
import { openDatabase } from "../mysql/client.ts";
import { checksumTables, compareChecksums, type TableChecksums } from "../mysql/dataset.ts";
import { timeouts } from "../timeouts.ts";
import type { DeployedSetup } from "./deployment.ts";

/**
 * Seconds from the delete request to each phase's end, all on the client's
 * clock (the suite polls every 100 ms; Kubernetes timestamps have one-second
 * resolution, too coarse for these phases).
 */
export interface RecoveryPhases {
  /** The old pod is gone from the API (its mysqld has shut down and the volume is released). */
  oldPodGone_s: number;
  /** The replacement pod is bound to a node. */
  newPodScheduled_s: number;
  /** Its volume is mounted and the mysql container is running. */
  containerStarted_s: number;
  /** Its readiness probe passed: mysqld answers. */
  mysqldReady_s: number;
  /** A query through a new connection returned the same counts and checksums as before. */
  firstVerifiedQuery_s: number;
}

export const phaseNames: (keyof RecoveryPhases)[] = ["oldPodGone_s", "newPodScheduled_s", "containerStarted_s", "mysqldReady_s", "firstVerifiedQuery_s"];

const pollMs = 100;

/**
 * Deletes the MySQL pod and measures until the replacement serves the same
 * data. Throws when the data differs, or when recovery does not finish
 * within the deadline (diagnosed).
 */
export async function deletePodAndMeasureRecovery(setup: DeployedSetup, expected: TableChecksums): Promise<RecoveryPhases> {
  const { kube, namespace } = setup;
  const old = await setup.waitForReadyPod();
  const oldName = old.metadata!.name!;
  const credentials = await setup.rootCredentials();
  const started = performance.now();
  const at = () => +((performance.now() - started) / 1000).toFixed(2);
  const deadline = started + timeouts.podReadyMs;
  await kube.core.deleteNamespacedPod({ name: oldName, namespace });

  const phases: Partial<RecoveryPhases> = {};
  let replacement: V1Pod | undefined;
  let lastSeen = "nothing yet";
  while (phases.mysqldReady_s === undefined) {
    if (performance.now() > deadline) {
      const diagnosis = (await collectDiagnostics(kube, namespace)).summary;
      throw new WaitError(`recovery did not finish within ${timeouts.podReadyMs / 1000} s after deleting ${oldName}; phases so far: ${JSON.stringify(phases)}; last seen: ${lastSeen}`, diagnosis);
    }
    if (phases.oldPodGone_s === undefined) {
      const gone = await kube.core.readNamespacedPod({ name: oldName, namespace }).then(() => false, (e) => (isNotFound(e) ? true : Promise.reject(e)));
      if (gone) phases.oldPodGone_s = at();
    }
    const pods = (await kube.core.listNamespacedPod({ namespace, labelSelector: setup.selector })).items;
    replacement = pods.find((p) => p.metadata?.name !== oldName && !p.metadata?.deletionTimestamp);
    if (replacement) {
      lastSeen = `pod ${replacement.metadata?.name} phase ${replacement.status?.phase}`;
      if (phases.newPodScheduled_s === undefined && replacement.spec?.nodeName) phases.newPodScheduled_s = at();
      const container = replacement.status?.containerStatuses?.find((c) => c.name === setup.workload.container.name);
      if (phases.containerStarted_s === undefined && container?.state?.running) phases.containerStarted_s = at();
      if (isPodReady(replacement)) phases.mysqldReady_s = at();
    }
    if (phases.mysqldReady_s === undefined) await new Promise((r) => setTimeout(r, pollMs));
  }
  // With Recreate, the old pod is gone before the new one exists; fill what polling saw at once.
  phases.oldPodGone_s ??= phases.mysqldReady_s;
  phases.newPodScheduled_s ??= phases.mysqldReady_s;
  phases.containerStarted_s ??= phases.mysqldReady_s;

  const db = await openDatabase(kube, namespace, replacement!.metadata!.name!, credentials, timeouts.mysqlReadyMs);
  try {
    const actual = await checksumTables(db.connection);
    phases.firstVerifiedQuery_s = at();
    const differences = compareChecksums(expected, actual);
    if (differences.length) {
      throw new Error(`the data changed across the pod deletion (${oldName} → ${replacement!.metadata!.name}):\n  ${differences.join("\n  ")}`);
    }
  } finally {
    await db.close();
  }
  return phases as RecoveryPhases;
}

/** Nearest-rank percentile of a sample. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Throws when a recovery's total exceeds the budget, naming its slowest phase. */
export function assertWithinBudget(phases: RecoveryPhases, budgetMs: number, cycle: number): void {
  if (phases.firstVerifiedQuery_s * 1000 <= budgetMs) return;
  const durations = phaseNames.map((name, i) => [name, phases[name] - (i === 0 ? 0 : phases[phaseNames[i - 1]!])] as const);
  const slowest = durations.reduce((a, b) => (b[1] > a[1] ? b : a));
  throw new Error(
    `recovery ${cycle} took ${phases.firstVerifiedQuery_s.toFixed(1)} s, over the ${budgetMs / 1000} s budget; slowest phase: ${slowest[0]} (${slowest[1].toFixed(1)} s). ` +
      `Phases (s since the delete): ${phaseNames.map((n) => `${n}=${phases[n]}`).join(" ")}. Look at the readiness probe's delay and period, and the image's start time.`,
  );
}
