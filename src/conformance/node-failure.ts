import type { CoreV1Event, V1Node, V1Pod, V1Taint } from "@kubernetes/client-node";
import { describeApiError, isNotFound, type Kube } from "../kube/client.ts";
import { isPodReady, readyCondition } from "../kube/waits.ts";
import type { DeployedSetup } from "../design/deployment.ts";
import { nameOf } from "../kube/names.ts";

/**
 * Node failures as a cluster lives them: a node cordoned and its pod evicted
 * (a drain), or a node gone at once (a power cut). The observer polls the
 * node, the old pod and its replacement, and keeps each milestone the first
 * time it is seen, in seconds from the disruption.
 */

export interface Milestone {
  name: string;
  atS: number;
  detail?: string;
}

/** Milestones in the order they happened, each kept once. */
export class Timeline {
  readonly milestones: Milestone[] = [];
  private readonly startedAt: number;

  constructor(startedAt: number = performance.now()) {
    this.startedAt = startedAt;
  }

  /** Seconds since the disruption. */
  now(): number {
    return Math.round((performance.now() - this.startedAt) / 10) / 100;
  }

  mark(name: string, detail?: string): Milestone {
    const seen = this.get(name);
    if (seen) return seen;
    const milestone = { name, atS: this.now(), ...(detail ? { detail } : {}) };
    this.milestones.push(milestone);
    return milestone;
  }

  get(name: string): Milestone | undefined {
    return this.milestones.find((m) => m.name === name);
  }

  /** "name at 12.3 s (detail)" lines, for notes and failure messages. */
  describe(): string {
    return this.milestones.map((m) => `${m.name} at ${m.atS.toFixed(1)} s${m.detail ? ` (${m.detail})` : ""}`).join("; ") || "no milestone seen";
  }
}

/** The taints the node lifecycle controller adds to a node it cannot hear from. */
export const unreachableTaints = ["node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"];
/** The taint an operator adds once a node is known to be shut down (non-graceful node shutdown). */
export const outOfServiceTaint: V1Taint = { key: "node.kubernetes.io/out-of-service", value: "nodeshutdown", effect: "NoExecute" };

/** Who cordoned a node, so an interrupted run can uncordon what it changed and nothing else. */
export const cordonedByAnnotation = "storage-conformance/cordoned-by";

/** Marks (un)schedulable, recording who did it in an annotation. */
export async function setCordoned(kube: Kube, node: string, cordoned: boolean, runId: string): Promise<void> {
  const patch = {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: node, annotations: { [cordonedByAnnotation]: cordoned ? runId : null } },
    spec: { unschedulable: cordoned ? true : null },
  };
  try {
    await kube.objects.patch(patch as unknown as V1Node);
  } catch (error) {
    throw new Error(`${cordoned ? "cordoning" : "uncordoning"} node ${node} failed: ${describeApiError(error)}`);
  }
}

/** Uncordons every node this run cordoned (after a failure or Ctrl-C); returns their names. */
export async function uncordonRun(kube: Kube, runId: string): Promise<string[]> {
  const nodes = (await kube.core.listNode()).items.filter((n) => n.metadata?.annotations?.[cordonedByAnnotation] === runId);
  for (const node of nodes) await setCordoned(kube, nameOf(node), false, runId);
  return nodes.map((n) => nameOf(n));
}

/** Adds or removes a taint. */
export async function setTaint(kube: Kube, nodeName: string, taint: V1Taint, present: boolean): Promise<void> {
  const node = await kube.core.readNode({ name: nodeName });
  const others = (node.spec?.taints ?? []).filter((t) => t.key !== taint.key);
  const taints = present ? [...others, taint] : others;
  try {
    await kube.objects.patch({ apiVersion: "v1", kind: "Node", metadata: { name: nodeName }, spec: { taints } });
  } catch (error) {
    throw new Error(`${present ? "adding" : "removing"} the taint ${taint.key} on node ${nodeName} failed: ${describeApiError(error)}`);
  }
}

/**
 * Evicts a pod through the Eviction API, as `kubectl drain` does: a
 * PodDisruptionBudget that forbids it answers 429, reported as blocked.
 */
export async function evictPod(kube: Kube, namespace: string, name: string): Promise<{ evicted: true } | { evicted: false; reason: string }> {
  try {
    await kube.core.createNamespacedPodEviction({ name, namespace, body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace } } });
    return { evicted: true };
  } catch (error) {
    const code = (error as { code?: number }).code;
    if (code === 429) return { evicted: false, reason: `a PodDisruptionBudget forbids it: ${describeApiError(error)}` };
    throw new Error(`evicting pod ${namespace}/${name} failed: ${describeApiError(error)}`);
  }
}

/** The scheduler's latest word on why `pod` is not scheduled (its PodScheduled condition, else its FailedScheduling event). */
export function schedulerMessage(pod: V1Pod, events: CoreV1Event[]): string | undefined {
  const condition = pod.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  if (condition?.message) return condition.message;
  const failed = events.filter((e) => e.reason === "FailedScheduling" && e.involvedObject?.name === pod.metadata?.name);
  return failed.at(-1)?.message;
}

/** What the observer saw at one poll. */
export interface NodeFailureState {
  node?: V1Node;
  oldPod?: V1Pod;
  oldPodGone: boolean;
  replacement?: V1Pod;
  events: CoreV1Event[];
}

/** One poll of the node, the old pod and the replacement, marking what is new on `timeline`. */
export async function observe(setup: DeployedSetup, nodeName: string, oldPod: string, timeline: Timeline): Promise<NodeFailureState> {
  const { kube, namespace } = setup;
  const node = await kube.core.readNode({ name: nodeName }).catch(() => undefined);
  const old = await kube.core.readNamespacedPod({ name: oldPod, namespace }).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
  const pods = (await kube.core.listNamespacedPod({ namespace, labelSelector: setup.selector })).items;
  const replacement = pods.find((p) => p.metadata?.name !== oldPod && !p.metadata?.deletionTimestamp);
  const events = replacement && !replacement.spec?.nodeName ? (await kube.core.listNamespacedEvent({ namespace })).items : [];
  if (node) {
    const ready = readyCondition(node);
    if (ready.status !== "True") timeline.mark("node NotReady", `Ready=${ready.status}${ready.reason ? ` ${ready.reason}` : ""}`);
    else if (timeline.get("node NotReady")) timeline.mark("node Ready again");
    for (const taint of node.spec?.taints ?? []) {
      if (unreachableTaints.includes(taint.key) && taint.effect === "NoExecute") timeline.mark("node tainted NoExecute", taint.key);
    }
  }
  if (old?.metadata?.deletionTimestamp) timeline.mark("old pod marked for deletion");
  if (!old) timeline.mark("old pod removed");
  if (replacement) {
    timeline.mark("replacement created", replacement.metadata?.name);
    const message = replacement.spec?.nodeName ? undefined : schedulerMessage(replacement, events);
    if (message) timeline.mark("replacement unschedulable", message);
    if (replacement.spec?.nodeName) timeline.mark("replacement scheduled", `on ${replacement.spec.nodeName}`);
    if (isPodReady(replacement)) timeline.mark("replacement Ready", `on ${replacement.spec?.nodeName}`);
  }
  return { node, oldPod: old, oldPodGone: !old, replacement, events };
}

/** The toleration of a not-ready/unreachable node a pod carries (DefaultTolerationSeconds adds 300 s), as "key: N s". */
export function nodeFailureTolerations(pod: V1Pod): string[] {
  return (pod.spec?.tolerations ?? [])
    .filter((t) => unreachableTaints.includes(t.key ?? "") && t.effect === "NoExecute")
    .map((t) => `${t.key}: ${t.tolerationSeconds ?? "forever"} s`);
}

/** A snake_case value name from a milestone ("replacement Ready" -> "replacement_ready_s"). */
export function milestoneValueName(prefix: string, milestone: string): string {
  return `${prefix}${milestone
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_|_$/g, "")}_s`;
}

/** The finding for one node loss: what dominated the time to recovery, against the budget. */
export function nodeLossVerdict(how: string, node: string, timeline: Timeline, budgetS: number, tolerations: string[]): string {
  const at = (name: string) => timeline.get(name)?.atS;
  const recoveredS = at("data verified") ?? Number.NaN;
  const parts = [
    `after the loss of node ${node} with ${how}, MySQL served verified data again ${recoveredS.toFixed(1)} s after the power cut (budget ${budgetS} s${recoveredS > budgetS ? ": exceeded" : ""})`,
  ];
  const notReady = at("node NotReady");
  if (notReady !== undefined) parts.push(`the node was NotReady at ${notReady.toFixed(1)} s (the node monitor's grace period)`);
  const marked = at("old pod marked for deletion");
  if (marked !== undefined)
    parts.push(
      `its pod was marked for deletion at ${marked.toFixed(1)} s (${tolerations.join(", ") || "no toleration"}${how.includes("out-of-service") ? "; the out-of-service taint evicts at once" : ""})`,
    );
  const stuck = timeline.get("replacement unschedulable");
  if (stuck)
    parts.push(
      `the replacement could not be scheduled ("${stuck.detail}") until the node came back at ${at("node powered on")?.toFixed(1) ?? "?"} s: the volume lives on that node only`,
    );
  const dominant = longestWait(timeline);
  if (dominant)
    parts.push(
      `the longest wait was ${dominant.seconds.toFixed(1)} s, from "${dominant.from}" to "${dominant.to}"${dominant.cause ? `: ${dominant.cause}` : ""}`,
    );
  return `${parts.join("; ")}.`;
}

/** What Kubernetes waits on between two milestones of a node loss. */
const waitCauses: [RegExp, RegExp, string][] = [
  [/powered off/, /NotReady/, "the node monitor's grace period (kube-controller-manager --node-monitor-grace-period)"],
  [
    /NotReady|tainted|out-of-service/,
    /marked for deletion/,
    "the pod's toleration of the not-ready/unreachable taints (tolerationSeconds; 300 s unless the pod sets it, added by the DefaultTolerationSeconds admission plugin)",
  ],
  [/unschedulable|created|removed|marked/, /powered on|uncordoned/, "the node's absence: the volume is on that node and nowhere else"],
];

/** The longest stretch between two consecutive milestones, and what Kubernetes waits on there. */
export function longestWait(timeline: Timeline): { from: string; to: string; seconds: number; cause?: string } | undefined {
  let longest: { from: string; to: string; seconds: number; cause?: string } | undefined;
  const ms = timeline.milestones;
  for (let i = 1; i < ms.length; i++) {
    const seconds = ms[i]!.atS - ms[i - 1]!.atS;
    if (!longest || seconds > longest.seconds) longest = { from: ms[i - 1]!.name, to: ms[i]!.name, seconds };
  }
  if (!longest) return undefined;
  const cause = waitCauses.find(([from, to]) => from.test(longest.from) && to.test(longest.to))?.[2];
  return cause ? { ...longest, cause } : longest;
}
