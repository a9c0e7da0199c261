import { execOnNode } from "../cluster/node.ts";
import { collectDiagnostics } from "../kube/diagnostics.ts";
import { isPodReady, podDeadEnd } from "../kube/waits.ts";
import { WaitError } from "../kube/wait.ts";
import type { TableChecksums } from "../mysql/dataset.ts";
import { timeouts } from "../timeouts.ts";
import type { DeployedSetup } from "./deployment.ts";
import { secondsSince, verifySameData } from "./verify.ts";

/** Seconds from the SIGKILL to each milestone, on the client's clock. */
export interface CrashRecovery {
  /** The kubelet saw the container die and started it again (restartCount went up). */
  containerRestarted_s: number;
  /** The readiness probe passed again: mysqld finished crash recovery. */
  mysqldReady_s: number;
  /** Counts and checksums as before the crash. */
  firstVerifiedQuery_s: number;
  /** The process that was killed, as the node saw it. */
  killed: string;
}

/**
 * The shell run on the node: the mysqld/mariadbd processes whose cgroup names
 * the pod's UID (cgroupfs keeps its dashes, the systemd driver turns them into
 * underscores).
 */
export function mysqldPidsScript(podUid: string): string {
  const uid = podUid.replace(/-/g, "[-_]");
  return `for p in /proc/[0-9]*; do grep -Eq 'pod${uid}' "$p/cgroup" 2>/dev/null || continue; c=$(cat "$p/comm" 2>/dev/null); case "$c" in mysqld|mariadbd) echo "\${p#/proc/} $c";; esac; done`;
}

/**
 * Crashes MySQL: SIGKILL to mysqld from the node, so no shutdown code runs
 * (a signal from inside the pod cannot kill PID 1). Then measures until the
 * restarted container serves the same data. Needs the embedded cluster's node.
 */
export async function crashMysqldAndMeasure(setup: DeployedSetup, nodeContainerId: string, expected: TableChecksums): Promise<CrashRecovery> {
  const { kube, namespace } = setup;
  const pod = await setup.waitForReadyPod();
  const name = pod.metadata!.name!;
  const container = setup.workload.container.name;
  const restartsBefore = pod.status?.containerStatuses?.find((c) => c.name === container)?.restartCount ?? 0;
  const found = await execOnNode(nodeContainerId, ["sh", "-c", mysqldPidsScript(pod.metadata!.uid!)]);
  const processes = found.output.trim().split("\n").filter(Boolean);
  if (processes.length !== 1) {
    throw new Error(`expected one mysqld process of pod ${name} on the node, found ${processes.length} (${found.output.trim() || "none"}); the node's /proc/<pid>/cgroup did not name pod ${pod.metadata!.uid}`);
  }
  const [pid, command] = processes[0]!.split(" ");
  const credentials = await setup.rootCredentials();
  const started = performance.now();
  const at = () => +((performance.now() - started) / 1000).toFixed(2);
  const killed = await execOnNode(nodeContainerId, ["kill", "-KILL", pid!]);
  if (killed.exitCode !== 0) throw new Error(`kill -KILL ${pid} (${command} of pod ${name}) on the node failed: ${killed.output.trim()}`);

  let containerRestarted_s: number | undefined;
  let mysqldReady_s: number | undefined;
  let lastSeen = "nothing yet";
  while (mysqldReady_s === undefined) {
    if (performance.now() - started > timeouts.podReadyMs) {
      const diagnosis = (await collectDiagnostics(kube, namespace)).summary;
      throw new WaitError(`MySQL did not come back within ${timeouts.podReadyMs / 1000} s after ${command} (pid ${pid}) of pod ${name} was killed; last seen: ${lastSeen}`, diagnosis);
    }
    const now = await kube.core.readNamespacedPod({ name, namespace });
    const status = now.status?.containerStatuses?.find((c) => c.name === container);
    lastSeen = `restartCount ${status?.restartCount}, state ${Object.keys(status?.state ?? {}).join(",")}, ready ${status?.ready}`;
    if (containerRestarted_s === undefined && (status?.restartCount ?? 0) > restartsBefore && status?.state?.running) containerRestarted_s = at();
    const deadEnd = podDeadEnd({ pod: now, missingClaims: [] });
    if (deadEnd) {
      const diagnosis = (await collectDiagnostics(kube, namespace)).summary;
      throw new WaitError(`MySQL will not come back after ${command} (pid ${pid}) of pod ${name} was killed: ${deadEnd}`, diagnosis);
    }
    if (containerRestarted_s !== undefined && isPodReady(now)) mysqldReady_s = at();
    else await new Promise((r) => setTimeout(r, 100));
  }
  const answered = await verifySameData(kube, { namespace, pod: name, credentials }, expected, `the crash of ${command} in pod ${name}`);
  return { containerRestarted_s: containerRestarted_s!, mysqldReady_s, firstVerifiedQuery_s: secondsSince(started, answered), killed: `${command} (pid ${pid} on the node)` };
}
