/**
 * Whether two MySQL containers ran at once on the claim after a pod
 * deletion, as the kubelet reports them: the old pod's container still
 * running while the replacement's already runs. The replacement's "old pod
 * gone" milestone (recovery/) is the pod object leaving the API, which the
 * kubelet deletes only after it has unmounted the volume: with
 * ReadWriteOncePod the replacement may start a moment before that, the old
 * container long stopped, so the containers' states are what tell.
 */
import type { DeployedSetup } from "../design/deployment.ts";
import { nameOf } from "../kube/names.ts";
import { waitFor } from "../kube/wait.ts";
import { pollIntervals, timeouts } from "../timeouts.ts";

/**
 * Polls MySQL's pods (every pollIntervals.milestoneMs) from now until the old
 * pod's container no longer runs and a replacement's does; resolves with the
 * seconds both were seen running (0 when never at once). Start it before the
 * deletion, await it after.
 */
export async function containerOverlap(setup: DeployedSetup, oldPod: string): Promise<{ overlap_s: number }> {
  let lastOldRunningMs: number | undefined;
  let firstNewRunningMs: number | undefined;
  await waitFor(
    async () => {
      const pods = (await setup.kube.core.listNamespacedPod({ namespace: setup.namespace, labelSelector: setup.selector })).items;
      const now = performance.now();
      const old = pods.find((p) => nameOf(p) === oldPod);
      const oldRunning = Boolean(old && setup.mysqlContainerStatus(old)?.state?.running);
      const newRunning = pods.some((p) => nameOf(p) !== oldPod && setup.mysqlContainerStatus(p)?.state?.running);
      if (oldRunning) lastOldRunningMs = now;
      if (newRunning) firstNewRunningMs ??= now;
      return { oldRunning, newRunning };
    },
    (s) => !s.oldRunning && s.newRunning,
    {
      what: `the container of ${oldPod} to stop and a replacement's to run`,
      signal: setup.kube.signal,
      timeoutMs: timeouts.podReadyMs,
      intervalMs: pollIntervals.milestoneMs,
      describe: (s) => `old container ${s.oldRunning ? "running" : "not running"}, replacement ${s.newRunning ? "running" : "not running"}`,
    },
  );
  const overlapMs = lastOldRunningMs !== undefined && firstNewRunningMs !== undefined ? lastOldRunningMs - firstNewRunningMs : 0;
  return { overlap_s: Math.max(0, +(overlapMs / 1000).toFixed(2)) };
}
