import { assertReachable, connect, type Kube } from "../kube/client.ts";
import { collectDiagnostics } from "../kube/diagnostics.ts";
import { isPodReady } from "../kube/waits.ts";
import { WaitError } from "../kube/wait.ts";
import type { TableChecksums } from "../mysql/dataset.ts";
import { timeouts } from "../timeouts.ts";
import type { DeployedSetup } from "./deployment.ts";
import { secondsSince, verifySameData } from "./verify.ts";

/** Seconds from the kill of the node container to each milestone, on the client's clock. */
export interface NodeRestartRecovery {
  /** The node container runs again and its controllers have synced. */
  nodeStarted_s: number;
  /** The API server answers through the new port. */
  apiReachable_s: number;
  /** A MySQL container started after the restart is Ready. */
  mysqldReady_s: number;
  /** Counts and checksums as before the restart. */
  firstVerifiedQuery_s: number;
  /** The setup, connected to the restarted node. */
  setup: DeployedSetup;
  kube: Kube;
}

/**
 * Kills the node container (no shutdown of anything on it, as a power cut),
 * starts it again with its volumes, and measures until MySQL serves the same data.
 */
export async function restartNodeAndMeasure(setup: DeployedSetup, restartNode: () => Promise<string>, expected: TableChecksums): Promise<NodeRestartRecovery> {
  const credentials = await setup.rootCredentials();
  const started = performance.now();
  const startedAtWall = Math.floor(Date.now() / 1000) * 1000;
  const at = () => +((performance.now() - started) / 1000).toFixed(2);
  const kubeconfig = await restartNode();
  const nodeStarted_s = at();
  const kube = connect(kubeconfig);
  await assertReachable(kube, "the restarted node");
  const apiReachable_s = at();
  const after = setup.reconnected(kube);
  const { namespace } = after;
  let lastSeen = "nothing yet";
  let podName: string | undefined;
  for (;;) {
    if (performance.now() - started > timeouts.podReadyMs) {
      const diagnosis = (await collectDiagnostics(kube, namespace)).summary;
      throw new WaitError(`MySQL was not Ready within ${timeouts.podReadyMs / 1000} s of the node restart; last seen: ${lastSeen}`, diagnosis);
    }
    const pods = (await kube.core.listNamespacedPod({ namespace, labelSelector: after.selector })).items;
    // The API still shows the pre-restart status for a moment: only a container started after the kill counts.
    const fresh = pods.find((p) => {
      const status = p.status?.containerStatuses?.find((c) => c.name === after.workload.container.name);
      const startedAt = status?.state?.running?.startedAt;
      return isPodReady(p) && startedAt !== undefined && new Date(startedAt).getTime() >= startedAtWall;
    });
    lastSeen = pods.map((p) => `${p.metadata?.name} ${p.status?.phase} ready=${isPodReady(p)}`).join("; ") || "no pod";
    if (fresh) {
      podName = fresh.metadata!.name!;
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const mysqldReady_s = at();
  const answered = await verifySameData(kube, { namespace, pod: podName, credentials }, expected, `the node restart (pod ${podName})`);
  return { nodeStarted_s, apiReachable_s, mysqldReady_s, firstVerifiedQuery_s: secondsSince(started, answered), setup: after, kube };
}
