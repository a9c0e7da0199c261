import type { V1Pod } from "@kubernetes/client-node";
import { isNotFound } from "../kube/client.ts";
import { collectDiagnostics } from "../kube/diagnostics.ts";
import { isPodReady, podDeadEnd } from "../kube/waits.ts";
import { waitFor } from "../kube/wait.ts";
import { datasetDatabase, type TableChecksums } from "../mysql/dataset.ts";
import type { RecoveryPhases } from "./milestones.ts";
import { pollIntervals, timeouts } from "../timeouts.ts";
import type { DeployedSetup } from "../design/deployment.ts";
import { secondsSince } from "../clock.ts";
import { compareData } from "../mysql/verify.ts";
import { nameOf } from "../kube/names.ts";

export { overBudget, overlapSeconds, percentile } from "./phases.ts";
export { phaseDurations, phaseNames, type RecoveryPhases } from "./milestones.ts";

/**
 * How the MySQL pod is replaced: deleted (as a person or an eviction would),
 * or the workload restarted as `kubectl rollout restart` does (a new template
 * annotation: the controller stops the old pod and starts a new one).
 */
export type Replacement = "pod deletion" | "rollout restart";

/** A replacement's milestones, and what its server answered when its data was compared. */
export interface ReplacementRecovery extends RecoveryPhases {
  /** What happened, in words: "the pod deletion (mysql-a → mysql-b)". */
  across: string;
  /** Each table that differs from before (empty: the same data); the spec expects it empty. */
  dataDifferences: string[];
}

/**
 * Deletes the MySQL pod (or restarts its workload) and measures until the
 * replacement answers the query that compares its data with `expected`.
 * Throws only when there is no replacement within the deadline (diagnosed).
 */
export async function deletePodAndMeasureRecovery(
  setup: DeployedSetup,
  expected: TableChecksums,
  database: string = datasetDatabase,
  options: { runningIsEnough?: boolean; how?: Replacement; onDisrupted?: (atMs: number) => void } = {},
): Promise<ReplacementRecovery> {
  const { kube, namespace } = setup;
  const how = options.how ?? "pod deletion";
  const old = await setup.waitForReadyPod({ runningIsEnough: options.runningIsEnough });
  const oldName = nameOf(old);
  const credentials = await setup.rootCredentials();
  const started = performance.now();
  options.onDisrupted?.(Date.now());
  if (how === "pod deletion") await kube.core.deleteNamespacedPod({ name: oldName, namespace });
  else await setup.rolloutRestart();

  // Each poll records the milestones it sees, on the client's clock.
  const phases: Partial<RecoveryPhases> = {};
  const replacement = await waitFor(
    async (): Promise<V1Pod | undefined> => {
      if (phases.oldPodGone_s === undefined) {
        const gone = await kube.core.readNamespacedPod({ name: oldName, namespace }).then(
          () => false,
          (e) => (isNotFound(e) ? true : Promise.reject(e)),
        );
        if (gone) phases.oldPodGone_s = secondsSince(started);
      }
      const pods = (await kube.core.listNamespacedPod({ namespace, labelSelector: setup.selector })).items;
      const pod = pods.find((p) => p.metadata?.name !== oldName && !p.metadata?.deletionTimestamp);
      if (pod) {
        if (phases.newPodScheduled_s === undefined && pod.spec?.nodeName) phases.newPodScheduled_s = secondsSince(started);
        if (phases.containerStarted_s === undefined && setup.mysqlContainerStatus(pod)?.state?.running) phases.containerStarted_s = secondsSince(started);
        if (isPodReady(pod)) phases.mysqldReady_s = secondsSince(started);
      }
      return pod;
    },
    (pod) => isPodReady(pod),
    {
      what: `the replacement of ${oldName} to be Ready`,
      signal: kube.signal,
      timeoutMs: timeouts.podReadyMs,
      intervalMs: pollIntervals.milestoneMs,
      deadEnd: (pod) => podDeadEnd({ pod, missingClaims: [] }),
      describe: (pod) => `${pod ? `pod ${pod.metadata?.name} phase ${pod.status?.phase}` : "no replacement pod"}; phases so far: ${JSON.stringify(phases)}`,
      diagnose: async () => (await collectDiagnostics(kube, namespace)).summary,
    },
  );
  // With Recreate, the old pod is gone before the new one exists; fill what polling saw at once.
  phases.oldPodGone_s ??= phases.mysqldReady_s;
  phases.newPodScheduled_s ??= phases.mysqldReady_s;
  phases.containerStarted_s ??= phases.mysqldReady_s;

  const newName = nameOf(replacement!);
  const { answeredAt, differences } = await compareData(kube, { namespace, pod: newName, credentials }, expected, database);
  phases.firstVerifiedQuery_s = secondsSince(started, answeredAt);
  return { ...(phases as RecoveryPhases), across: `the ${how} (${oldName} → ${newName})`, dataDifferences: differences };
}
