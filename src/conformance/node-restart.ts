import type { V1Pod } from "@kubernetes/client-node";
import { collectDiagnostics } from "../kube/diagnostics.ts";
import { isPodReady } from "../kube/waits.ts";
import { waitFor } from "../kube/wait.ts";
import { pollIntervals } from "../timeouts.ts";
import type { DeployedSetup } from "../design/deployment.ts";
import { nameOf } from "../kube/names.ts";

/**
 * Waits for a MySQL container that started at or after `sinceWallMs` (wall
 * clock, whole seconds: the API's startedAt has no finer grain) to be Ready,
 * and resolves with its pod's name. After a power cut the API still shows the
 * pre-cut status for a moment: only a container started after the cut counts.
 */
export async function waitForMysqlStartedAfter(setup: DeployedSetup, sinceWallMs: number, what: string, timeoutMs: number): Promise<string> {
  const { kube, namespace } = setup;
  const startedAfter = (pod: V1Pod) => {
    const startedAt = setup.mysqlContainerStatus(pod)?.state?.running?.startedAt;
    return isPodReady(pod) && startedAt !== undefined && new Date(startedAt).getTime() >= sinceWallMs;
  };
  const pods = await waitFor(
    async () => (await kube.core.listNamespacedPod({ namespace, labelSelector: setup.selector })).items,
    (items) => items.some(startedAfter),
    {
      what,
      signal: kube.signal,
      timeoutMs,
      intervalMs: pollIntervals.podMs,
      describe: (items) => items.map((p) => `${p.metadata?.name} ${p.status?.phase} ready=${isPodReady(p)}`).join("; ") || "no pod",
      diagnose: async () => (await collectDiagnostics(kube, namespace)).summary,
    },
  );
  return nameOf(pods.find(startedAfter)!);
}
