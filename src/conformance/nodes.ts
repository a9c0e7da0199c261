import type { V1Pod } from "@kubernetes/client-node";
import { memoryBytes, powerOff, powerOn, type ClusterNode, type ClusterWithNodes } from "../cluster/multi-node.ts";
import { cutLayers, lazyLayers, nodeHasLazyLayers, type LayerCut } from "../cluster/power.ts";
import type { Kube } from "../kube/client.ts";
import { collectDiagnostics } from "../kube/diagnostics.ts";
import { nameOf, nodeNameOf } from "../kube/names.ts";
import { waitFor } from "../kube/wait.ts";
import { readyCondition } from "../kube/waits.ts";
import type { LoadedObject } from "../manifests/load.ts";
import { withPlacement } from "../manifests/placement.ts";
import { withStorageClass } from "../manifests/storage-class.ts";
import type { TableChecksums } from "../mysql/dataset.ts";
import { commitLogPattern, durableBytesDropped } from "../mysql/files.ts";
import { compareData } from "../mysql/verify.ts";
import { DeployedSetup } from "../design/deployment.ts";
import { pollIntervals, timeouts } from "../timeouts.ts";
import { evictPod, milestoneValueName, observe, outOfServiceTaint, setCordoned, setTaint, type Timeline } from "./node-failure.ts";

/**
 * The nodes suite's steps on a cluster of a server and agents: MySQL placed
 * on an agent, its node drained or its power cut, every milestone marked on
 * a Timeline (node-failure.ts) until a replacement serves the data again.
 * Each step returns what happened; the spec records it and judges it.
 */

/** Named values, as the specs record them. */
export type Values = Record<string, { value: number | string; unit: string }>;

/** How this cluster's nodes lose power, and the manifests the claim runs on for it. */
export interface PowerCutPlan {
  /** lazyfs: every byte no fsync persisted is dropped, then the node killed; kill: the node container killed alone. */
  mode: "lazyfs" | "kill";
  objects: LoadedObject[];
  /** Why the claim runs where it does, when that is not the manifests' own choice. */
  note?: string;
}

/**
 * Through the lazy layer where the node image has it (the offline node), else
 * by the container kill alone (k3s's image), which the note says. In the first
 * case the claim goes on the layer's class.
 */
export async function powerCutPlan(cluster: ClusterWithNodes, manifests: LoadedObject[], wanted: "lazyfs" | "kill"): Promise<PowerCutPlan> {
  const server = cluster.nodes.find((n) => n.role === "server");
  if (wanted === "kill") return { mode: "kill", objects: manifests };
  if (server && !(await nodeHasLazyLayers(server.containerId)))
    return {
      mode: "kill",
      objects: manifests,
      note: "the nodes' image has no lazyfs layer (k3s's own image): the power cut only kills the node container, which keeps every byte written in the host's page cache; SC_OFFLINE=1 runs the offline node, whose cut drops what was never synced",
    };
  const storageClass = lazyLayers.lazyfs.storageClass;
  return {
    mode: "lazyfs",
    objects: withStorageClass(manifests, storageClass),
    note:
      `the claim ran on StorageClass "${storageClass}" (the local-path provisioner's volumes on each node's lazyfs layer, which drops every unsynced byte at a power cut), ` +
      "not the manifests' class: killing a node container alone keeps the host's page cache",
  };
}

/** The manifests with the pod template tolerating a not-ready or unreachable node for `seconds` only. */
export function withNodeFailureTolerations(objects: LoadedObject[], seconds: number): LoadedObject[] {
  const tolerations = ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"].map((key) => ({
    key,
    operator: "Exists",
    effect: "NoExecute",
    tolerationSeconds: seconds,
  }));
  return withPlacement(objects, { tolerations });
}

/**
 * The design deployed with MySQL on an agent, Ready: the server's node runs
 * the control plane, which a node loss must not take, so it is cordoned while
 * the scheduler places MySQL (and uncordoned whatever happens).
 */
export async function deployOnAgent(kube: Kube, cluster: ClusterWithNodes, namespace: string, objects: LoadedObject[]): Promise<DeployedSetup> {
  const server = cluster.nodes.find((n) => n.role === "server");
  if (!server) return DeployedSetup.deploy(kube, namespace, objects);
  await setCordoned(kube, server.name, true, cluster.runId);
  try {
    const setup = await DeployedSetup.deploy(kube, namespace, objects);
    await setup.waitForReadyPod();
    return setup;
  } finally {
    await setCordoned(kube, server.name, false, cluster.runId);
  }
}

/** A node for the ledger writer: neither MySQL's (which fails) nor, where there is a choice, the server's. */
export async function writerNodeFor(kube: Kube, cluster: ClusterWithNodes, mysqlNode: string): Promise<string> {
  const nodes = (await kube.core.listNode()).items.filter((n) => nameOf(n) !== mysqlNode && !n.spec?.unschedulable && readyCondition(n).status === "True");
  const agent = nodes.find((n) => cluster.nodes.some((c) => c.role === "agent" && c.name === nameOf(n)));
  const chosen = agent ?? nodes[0];
  if (!chosen) throw new Error(`no Ready, schedulable node besides ${mysqlNode} for the ledger writer`);
  return nameOf(chosen);
}

/** The container of the node `name`, which this run started (a node loss is only caused there). */
export function nodeContainerOf(cluster: ClusterWithNodes, name: string): ClusterNode {
  const node = cluster.nodes.find((n) => n.name === name);
  if (!node) throw new Error(`MySQL runs on ${name}, which is not one of this run's node containers (${cluster.nodes.map((n) => n.name).join(", ")})`);
  return node;
}

/** Each node container's memory use now, in MiB, named by its role and name. */
export async function nodeMemoryValues(nodes: ClusterNode[]): Promise<Values> {
  const values: Values = {};
  for (const [name, bytes] of Object.entries(await memoryBytes(nodes)))
    values[`memory_${nodes.find((n) => n.name === name)!.role}_${name}_mib`] = { value: Math.round(bytes / 2 ** 20), unit: "MiB" };
  return values;
}

/** Each milestone's seconds from the disruption, as `<prefix><milestone>_s`. */
export function milestoneValues(prefix: string, timeline: Timeline): Values {
  return Object.fromEntries(timeline.milestones.map((m) => [milestoneValueName(prefix, m.name), { value: m.atS, unit: "s" }]));
}

/** What one cut of the data's layer dropped, and what set it off. */
export function layerCutValues(cut: LayerCut): Values {
  return {
    power_cut_dropped_bytes: { value: cut.droppedBytes, unit: "B" },
    power_cut_durable_bytes_dropped: { value: durableBytesDropped(cut.files), unit: "B" },
    power_cut_trigger: { value: cut.triggerPath ? `write to ${cut.triggerPath}` : cut.trigger, unit: "" },
  };
}

/** Observes until `until` holds, marking milestones; the deadline's message names what was awaited and every milestone seen. */
async function observeUntil(
  setup: DeployedSetup,
  nodeName: string,
  oldPod: string,
  timeline: Timeline,
  what: string,
  until: () => boolean,
  timeoutMs: number,
): Promise<void> {
  await waitFor(() => observe(setup, nodeName, oldPod, timeline), until, {
    what,
    signal: setup.kube.signal,
    timeoutMs,
    intervalMs: pollIntervals.clusterMs,
    describe: () => `milestones so far: ${timeline.describe()}`,
    diagnose: async () => (await collectDiagnostics(setup.kube, setup.namespace)).summary,
  });
}

/** Observes the node, the old pod and its replacement until the replacement is Ready. */
export async function awaitReplacementReady(setup: DeployedSetup, nodeName: string, oldPod: string, timeline: Timeline, timeoutMs: number): Promise<void> {
  await observeUntil(setup, nodeName, oldPod, timeline, "the replacement to be Ready", () => Boolean(timeline.get("replacement Ready")), timeoutMs);
}

/** The Ready replacement of `oldPod` and how its data differs from `expected`; "data verified" is marked when it does not. */
export async function verifyReplacement(
  setup: DeployedSetup,
  oldPod: string,
  expected: TableChecksums,
  timeline: Timeline,
): Promise<{ replacement: V1Pod; dataDifferences: string[] }> {
  const replacement = await setup.waitForReadyPod({ exclude: oldPod });
  const target = { namespace: setup.namespace, pod: nameOf(replacement), credentials: await setup.rootCredentials() };
  const { differences } = await compareData(setup.kube, target, expected);
  if (differences.length === 0) timeline.mark("data verified");
  return { replacement, dataDifferences: differences };
}

/** A drain's outcome: the eviction refused (a PodDisruptionBudget), or done, with how long the replacement stayed unschedulable. */
export type DrainOutcome = { evicted: false; blocked: string } | { evicted: true; stuck?: { schedulerMessage: string; pendingS: number } };

/**
 * A drain of MySQL's node as `kubectl drain` does it: cordoned, its pod
 * evicted through the Eviction API. Until the replacement runs, or the
 * scheduler has said for `holdS` why it cannot; then the node is uncordoned
 * (a real maintenance window lasts minutes to hours). The caller uncordons
 * the run's nodes afterwards whatever happened (`uncordonRun`).
 */
export async function drainNode(setup: DeployedSetup, runId: string, pod: V1Pod, holdS: number, timeline: Timeline): Promise<DrainOutcome> {
  const node = nodeNameOf(pod);
  const oldPod = nameOf(pod);
  await setCordoned(setup.kube, node, true, runId);
  timeline.mark("node cordoned");
  const eviction = await evictPod(setup.kube, setup.namespace, oldPod);
  if (!eviction.evicted) return { evicted: false, blocked: eviction.reason };
  timeline.mark("pod evicted");
  await observeUntil(
    setup,
    node,
    oldPod,
    timeline,
    `the replacement to be Ready or unschedulable for ${holdS} s`,
    () => {
      const stuck = timeline.get("replacement unschedulable");
      return Boolean(timeline.get("replacement Ready") || (stuck && timeline.now() - stuck.atS >= holdS));
    },
    timeouts.podReadyMs,
  );
  const stuck = timeline.get("replacement unschedulable");
  if (!stuck) return { evicted: true };
  await setCordoned(setup.kube, node, false, runId);
  timeline.mark("node uncordoned");
  return { evicted: true, stuck: { schedulerMessage: stuck.detail ?? "", pendingS: +(timeline.now() - stuck.atS).toFixed(2) } };
}

export interface NodeLossOptions {
  mode: "lazyfs" | "kill";
  /** Add the out-of-service taint once the node is NotReady, as an operator who knows it is down would (non-graceful node shutdown). */
  outOfService: boolean;
  /** The data layer's cut, as soon as it happened (worth recording even when a later step fails). */
  onCut?: (cut: LayerCut) => void;
}

/** A node loss from the cut to verified data: when the disruption happened (Unix ms), the replacement and its data's differences. */
export interface NodeLoss {
  atMs: number;
  replacement: V1Pod;
  dataDifferences: string[];
}

/**
 * MySQL's node lost outright: with lazyfs, every byte no fsync persisted is
 * dropped first (armed on a commit in flight); then the node container is
 * killed. Observed until a replacement is Ready, or unschedulable: then the
 * node is powered on again (its taint removed first) and observed until the
 * replacement is Ready. Whatever happens the node ends powered on, untainted.
 */
export async function loseNode(
  setup: DeployedSetup,
  node: ClusterNode,
  oldPod: string,
  expected: TableChecksums,
  timeline: Timeline,
  options: NodeLossOptions,
): Promise<NodeLoss> {
  let atMs = Date.now();
  let powered = false;
  const observeNode = (what: string, until: () => boolean, timeoutMs: number) => observeUntil(setup, node.name, oldPod, timeline, what, until, timeoutMs);
  try {
    if (options.mode === "lazyfs") {
      const cuts = await cutLayers(node.containerId, { armed: { layer: "lazyfs", pattern: commitLogPattern, withinMs: timeouts.powerCutArmMs } });
      const dataCut = cuts.find((x) => x.layer === "lazyfs")!;
      atMs = dataCut.atMs;
      options.onCut?.(dataCut);
    }
    await powerOff(node);
    timeline.mark("node powered off");
    if (options.outOfService) {
      // The controllers act on the taint once the node is NotReady.
      await observeNode(`node ${node.name} to be NotReady`, () => Boolean(timeline.get("node NotReady")), timeouts.nodeLossObservationMs);
      await setTaint(setup.kube, node.name, outOfServiceTaint, true);
      timeline.mark("out-of-service taint added");
    }
    await observeNode(
      "a replacement pod that is Ready, or unschedulable",
      () => Boolean(timeline.get("replacement Ready") || timeline.get("replacement unschedulable")),
      timeouts.nodeLossObservationMs,
    );
    if (!timeline.get("replacement Ready")) {
      if (options.outOfService) {
        await setTaint(setup.kube, node.name, outOfServiceTaint, false);
        timeline.mark("out-of-service taint removed");
      }
      await powerOn(node);
      powered = true;
      timeline.mark("node powered on");
      await observeNode(
        "the replacement to be Ready once the node is back",
        () => Boolean(timeline.get("replacement Ready")),
        timeouts.clusterStartMs + timeouts.podReadyMs,
      );
    }
    return { atMs, ...(await verifyReplacement(setup, oldPod, expected, timeline)) };
  } finally {
    if (!powered) await powerOn(node).catch(() => undefined);
    if (options.outOfService) await setTaint(setup.kube, node.name, outOfServiceTaint, false).catch(() => undefined);
  }
}
