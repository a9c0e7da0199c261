import type { V1Pod } from "@kubernetes/client-node";
import { isNotFound } from "../kube/client.ts";
import { collectDiagnostics } from "../kube/diagnostics.ts";
import { isPodReady, podDeadEnd } from "../kube/waits.ts";
import { WaitError } from "../kube/wait.ts";
import { datasetDatabase, type TableChecksums } from "../mysql/dataset.ts";
import { timeouts } from "../timeouts.ts";
import type { DeployedSetup } from "./deployment.ts";
import { phaseNames, type RecoveryPhases } from "./phases.ts";
import { secondsSince, verifySameData } from "./verify.ts";

export { assertWithinBudget, overlapSeconds, percentile, phaseDurations, phaseNames, type RecoveryPhases } from "./phases.ts";


const pollMs = 100;

/**
 * Deletes the MySQL pod and measures until the replacement serves the same
 * data. Throws when the data differs, or when recovery does not finish
 * within the deadline (diagnosed).
 */
export async function deletePodAndMeasureRecovery(
  setup: DeployedSetup,
  expected: TableChecksums,
  database: string = datasetDatabase,
  options: { runningIsEnough?: boolean } = {},
): Promise<RecoveryPhases> {
  const { kube, namespace } = setup;
  const old = await setup.waitForReadyPod({ runningIsEnough: options.runningIsEnough });
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
      const deadEnd = podDeadEnd({ pod: replacement, missingClaims: [] });
      if (deadEnd) {
        const diagnosis = (await collectDiagnostics(kube, namespace)).summary;
        throw new WaitError(`the replacement of ${oldName} will not become Ready: ${deadEnd}; phases so far: ${JSON.stringify(phases)}`, diagnosis);
      }
    }
    if (phases.mysqldReady_s === undefined) await new Promise((r) => setTimeout(r, pollMs));
  }
  // With Recreate, the old pod is gone before the new one exists; fill what polling saw at once.
  phases.oldPodGone_s ??= phases.mysqldReady_s;
  phases.newPodScheduled_s ??= phases.mysqldReady_s;
  phases.containerStarted_s ??= phases.mysqldReady_s;

  const newName = replacement!.metadata!.name!;
  const answered = await verifySameData(kube, { namespace, pod: newName, credentials }, expected, `the pod deletion (${oldName} → ${newName})`, database);
  phases.firstVerifiedQuery_s = secondsSince(started, answered);
  return phases as RecoveryPhases;
}
