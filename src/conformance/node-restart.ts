import type { V1Pod } from "@kubernetes/client-node";
import { assertReachable, connect } from "../kube/client.ts";
import { collectDiagnostics } from "../kube/diagnostics.ts";
import { isPodReady } from "../kube/waits.ts";
import { waitFor } from "../kube/wait.ts";
import type { TableChecksums } from "../mysql/dataset.ts";
import { pollIntervals, timeouts } from "../timeouts.ts";
import type { DeployedSetup } from "../design/deployment.ts";
import { secondsSince } from "../clock.ts";
import { compareData } from "../mysql/verify.ts";
import { nameOf } from "../kube/names.ts";

/** Seconds from the kill of the node container to each milestone, on the client's clock. */
export interface NodeRestartRecovery {
  /** The node container runs again and its controllers have synced. */
  nodeStarted_s: number;
  /** The API server answers through the new port. */
  apiReachable_s: number;
  /** A MySQL container started after the restart is Ready. */
  mysqldReady_s: number;
  /** The query comparing counts and checksums with before the restart answered. */
  firstVerifiedQuery_s: number;
  /** What happened, in words, for the spec's message. */
  across: string;
  /** Each table that differs from before (empty: the same data); the spec expects it empty. */
  dataDifferences: string[];
}

/**
 * Kills the node container (no shutdown of anything on it, as a power cut),
 * starts it again with its volumes, and measures until MySQL serves the same data.
 */
export async function restartNodeAndMeasure(setup: DeployedSetup, restartNode: () => Promise<string>, expected: TableChecksums): Promise<NodeRestartRecovery> {
  const credentials = await setup.rootCredentials();
  const started = performance.now();
  const startedAtWall = Math.floor(Date.now() / 1000) * 1000;
  const kubeconfig = await restartNode();
  const nodeStarted_s = secondsSince(started);
  const kube = connect(kubeconfig, { signal: setup.kube.signal });
  await assertReachable(kube, "the restarted node");
  const apiReachable_s = secondsSince(started);
  const after = setup.reconnected(kube);
  const { namespace } = after;
  const podName = await waitForMysqlStartedAfter(
    after,
    startedAtWall,
    "MySQL to be Ready again after the node restart",
    Math.max(1, timeouts.podReadyMs - (performance.now() - started)),
  );
  const mysqldReady_s = secondsSince(started);
  const { answeredAt, differences } = await compareData(kube, { namespace, pod: podName, credentials }, expected);
  return {
    nodeStarted_s,
    apiReachable_s,
    mysqldReady_s,
    firstVerifiedQuery_s: secondsSince(started, answeredAt),
    across: `the node restart (pod ${podName})`,
    dataDifferences: differences,
  };
}

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
