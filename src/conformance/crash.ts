import { execOnNode } from "../cluster/node.ts";
import { collectDiagnostics } from "../kube/diagnostics.ts";
import { isPodReady, podDeadEnd } from "../kube/waits.ts";
import { waitFor } from "../kube/wait.ts";
import type { TableChecksums } from "../mysql/dataset.ts";
import { pollIntervals, timeouts } from "../timeouts.ts";
import type { DeployedSetup } from "../design/deployment.ts";
import { secondsSince } from "../clock.ts";
import { compareData } from "../mysql/verify.ts";
import { nameOf } from "../kube/names.ts";

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
  /** What happened, in words, for the spec's message. */
  across: string;
  /** Each table that differs from before (empty: the same data); the spec expects it empty. */
  dataDifferences: string[];
}

/**
 * The shell run on the node: the mysqld/mariadbd processes whose cgroup names
 * the pod's UID (cgroupfs keeps its dashes, the systemd driver turns them into
 * underscores).
 */
export function mysqldPidsScript(podUid: string): string {
  const uid = podUid.replace(/-/g, "[-_]");
  // Each line: node pid, command, pid inside the container (NSpid's last field; 1 is the
  // container's main process), then its arguments (mysqld is never given a password).
  return `for p in /proc/[0-9]*; do grep -Eq 'pod${uid}' "$p/cgroup" 2>/dev/null || continue; c=$(cat "$p/comm" 2>/dev/null); case "$c" in mysqld|mariadbd) echo "\${p#/proc/} $c $(awk '/^NSpid:/ {print $NF}' "$p/status" 2>/dev/null) $(tr '\\0' ' ' <"$p/cmdline" 2>/dev/null | cut -c1-200)";; esac; done`;
}

/**
 * The server to kill among the pod's mysqld processes: the container's main
 * process (pid 1 inside it), whose death the kubelet answers with a restart.
 * Another mysqld beside it (a short-lived one the entrypoint ran) is not the
 * server. Undefined when there is no main mysqld.
 */
export function mainMysqld(lines: string[]): { pid: string; command: string } | undefined {
  const parsed = lines.map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 2);
  const main = parsed.filter((f) => f[2] === "1");
  const chosen = main.length === 1 ? main[0] : parsed.length === 1 ? parsed[0] : undefined;
  return chosen ? { pid: chosen[0]!, command: chosen[1]! } : undefined;
}

/**
 * Crashes MySQL: SIGKILL to mysqld from the node, so no shutdown code runs
 * (a signal from inside the pod cannot kill PID 1). Then measures until the
 * restarted container answers the query comparing its data with `expected`
 * (the differences are the spec's to judge). Needs the embedded cluster's node.
 */
export async function crashMysqldAndMeasure(
  setup: DeployedSetup,
  nodeContainerId: string,
  expected: TableChecksums,
  options: { onDisrupted?: (atMs: number) => void; crashLoopIsExpected?: boolean } = {},
): Promise<CrashRecovery> {
  const { kube, namespace } = setup;
  const pod = await setup.waitForReadyPod();
  const name = nameOf(pod);
  const restartsBefore = setup.mysqlContainerStatus(pod)?.restartCount ?? 0;
  const found = await execOnNode(nodeContainerId, ["sh", "-c", mysqldPidsScript(pod.metadata!.uid!)]);
  const processes = found.output.trim().split("\n").filter(Boolean);
  const main = mainMysqld(processes);
  if (!main) {
    throw new Error(
      `expected one mysqld process of pod ${name} as its container's main process on the node, found ${processes.length} (node pid, command, pid in the container: ${found.output.trim().replace(/\n/g, "; ") || "none"}); the node's /proc/<pid>/cgroup names pod ${pod.metadata!.uid}`,
    );
  }
  const { pid, command } = main;
  // Another mysqld in the pod is worth knowing about (what it is, if it lingers), not a reason to stop.
  const others = processes.filter((l) => l.trim().split(/\s+/)[0] !== pid);
  const credentials = await setup.rootCredentials();
  const started = performance.now();
  options.onDisrupted?.(Date.now());
  const killed = await execOnNode(nodeContainerId, ["kill", "-KILL", pid!]);
  if (killed.exitCode !== 0) throw new Error(`kill -KILL ${pid} (${command} of pod ${name}) on the node failed: ${killed.output.trim()}`);

  let containerRestarted_s: number | undefined;
  await waitFor(
    async () => {
      const now = await kube.core.readNamespacedPod({ name, namespace });
      const status = setup.mysqlContainerStatus(now);
      if (containerRestarted_s === undefined && (status?.restartCount ?? 0) > restartsBefore && status?.state?.running)
        containerRestarted_s = secondsSince(started);
      return now;
    },
    (now) => containerRestarted_s !== undefined && isPodReady(now),
    {
      what: `MySQL to come back after ${command} (pid ${pid}) of pod ${name} was killed`,
      signal: kube.signal,
      timeoutMs: timeouts.podReadyMs,
      intervalMs: pollIntervals.milestoneMs,
      // In a crash series the kubelet's back-off (CrashLoopBackOff) is what is being measured, not a dead end.
      deadEnd: (now) => {
        const why = podDeadEnd({ pod: now, missingClaims: [] });
        return options.crashLoopIsExpected && why?.includes("crash-looping") ? undefined : why;
      },
      describe: (now) => {
        const status = setup.mysqlContainerStatus(now);
        return `restartCount ${status?.restartCount}, state ${Object.keys(status?.state ?? {}).join(",")}, ready ${status?.ready}`;
      },
      diagnose: async () => (await collectDiagnostics(kube, namespace)).summary,
    },
  );
  const mysqldReady_s = secondsSince(started);
  const { answeredAt, differences } = await compareData(kube, { namespace, pod: name, credentials }, expected);
  return {
    containerRestarted_s: containerRestarted_s!,
    mysqldReady_s,
    firstVerifiedQuery_s: secondsSince(started, answeredAt),
    across: `the crash of ${command} in pod ${name}`,
    dataDifferences: differences,
    killed: `${command} (pid ${pid} on the node)${others.length ? `; beside it in the pod: ${others.join("; ")}` : ""}`,
  };
}
