import { inject } from "vitest";
import type { ClusterInfo } from "../../src/cluster/index.ts";
import {
  memoryBytes,
  nodesSuiteAgents,
  powerOff,
  powerOn,
  startMultiNodeCluster,
  type ClusterNode,
  type MultiNodeCluster,
} from "../../src/cluster/multi-node.ts";
import { DeployedSetup } from "../../src/design/deployment.ts";
import { cutLayers, lazyLayers, nodeHasLazyLayers } from "../../src/cluster/power.ts";
import { dataDirFsType, inconclusiveCuts, powerCutAndMeasure, powerCutValues, seededRandom, type PowerCutCycle } from "../../src/conformance/power-cut.ts";
import { commitLogPattern, durableBytesDropped } from "../../src/mysql/files.ts";
import { withStorageClass } from "../../src/manifests/storage-class.ts";
import { disruptionsOf, LedgerWriter, summarizeLedger } from "../../src/ledger/writer.ts";
import {
  evictPod,
  milestoneValueName,
  nodeFailureTolerations,
  nodeLossVerdict,
  observe,
  outOfServiceTaint,
  setCordoned,
  setTaint,
  Timeline,
  uncordonRun,
} from "../../src/conformance/node-failure.ts";
import { compareData } from "../../src/mysql/verify.ts";
import { connect, type Kube } from "../../src/kube/client.ts";
import { waitFor } from "../../src/kube/wait.ts";
import { collectDiagnostics } from "../../src/kube/diagnostics.ts";
import { readyCondition } from "../../src/kube/waits.ts";
import type { LoadedObject } from "../../src/manifests/load.ts";
import { pollIntervals, timeouts } from "../../src/timeouts.ts";
import { describe, expect, type Record_, recordSpread, runSettings, test } from "../support/test.ts";

/**
 * Node failures, as the design claims MySQL's data "survives pod restarts and
 * node failures": a drain (cordon + eviction), and a node lost outright (its
 * container killed, a power cut) with Kubernetes' defaults, with the
 * non-graceful shutdown taint, and with shortened tolerations. The embedded
 * run starts a cluster of a server and two agents for this; a --kubeconfig
 * cluster gets the drain only, with --disruptive.
 */

const settings = runSettings();
const named = settings.suites.includes("nodes");
const disruptive = settings.disruptive;
const agents = nodesSuiteAgents;
/** tolerationSeconds for the not-ready/unreachable taints in the shortened-tolerations case. */
const shortTolerationS = settings.cycles.nodeLossTolerationS;
const budgetS = timeouts.recoveryBudgetMs / 1000;
/** How long a drained node stays cordoned once the scheduler has said the replacement cannot run elsewhere. */
const drainHoldS = 10;
/** Restarts of MySQL's node in a row (power cut, then power at once: a reboot), with the writer on another node. */
const restartCycles = settings.cycles.nodeRestarts;
/** lazyfs: each power cut drops what was never synced before the node is killed; kill: the node killed alone (to compare). */
const wantedMode = settings.powerCutMode;

/**
 * How this cluster's nodes lose power: through the lazy layer where the node
 * image has it (the offline node), else by the container kill alone (k3s's
 * image), said in a note. The claim goes on the layer's class in the first case.
 */
async function powerCutPlan(
  cluster: NodesCluster,
  manifests: LoadedObject[],
  note: (text: string) => void,
): Promise<{ mode: "lazyfs" | "kill"; objects: LoadedObject[] }> {
  const server = cluster.nodeContainers.find((n) => n.role === "server");
  if (wantedMode === "kill") return { mode: "kill", objects: manifests };
  if (server && !(await nodeHasLazyLayers(server.containerId))) {
    note(
      "the nodes' image has no lazyfs layer (k3s's own image): the power cut only kills the node container, which keeps every byte written in the host's page cache; SC_OFFLINE=1 runs the offline node, whose cut drops what was never synced",
    );
    return { mode: "kill", objects: manifests };
  }
  note(powerCutClassNote);
  return { mode: "lazyfs", objects: withStorageClass(manifests, lazyLayers.lazyfs.storageClass) };
}
const powerCutClassNote =
  `the claim ran on StorageClass "${lazyLayers.lazyfs.storageClass}" (the local-path provisioner's volumes on each node's lazyfs layer, which drops every unsynced byte at a power cut), ` +
  "not the manifests' class: killing a node container alone keeps the host's page cache";

interface NodesCluster extends ClusterInfo {
  /** Node containers, on a cluster this run started; none on a --kubeconfig cluster. */
  nodeContainers: ClusterNode[];
}

const nodesTest = test.extend<{ nodes: NodesCluster; kube: Kube }>({
  // The suite's own cluster of three nodes (or the run's, when it already has them), once per file.
  nodes: [
    async ({}, use) => {
      const failure = inject("clusterError");
      if (failure) throw Object.assign(new Error(`the cluster checks cannot run: ${failure}`), { stack: `the cluster checks cannot run: ${failure}` });
      const run = inject("cluster");
      if (!named || run.kind === "kubeconfig" || (run.nodes?.length ?? 0) > agents) {
        await use({ ...run, nodeContainers: run.nodes ?? [] });
        return;
      }
      let own: MultiNodeCluster | undefined;
      try {
        own = await startMultiNodeCluster(run.runId, agents, settings.clusterImage);
        const { stop: _stop, restartNode: _restart, waitForAllImages: _images, ...info } = own;
        await use({ ...info, nodeContainers: own.nodes });
      } finally {
        await own?.stop();
      }
    },
    { scope: "file" },
  ],
  // Every check of this file (its namespace too) talks to that cluster.
  kube: async ({ nodes, signal }, use) => use(connect(nodes.kubeconfig, { signal })),
});

function skipReason(cluster: NodesCluster, needsPower: boolean): string | undefined {
  if (!named) return "the nodes suite runs when named: npm run conformance -- --suite nodes (the nightly run does)";
  if (cluster.kind === "kubeconfig") {
    if (needsPower) return "a node loss is only caused on a cluster this run started (never on a --kubeconfig cluster)";
    if (!disruptive) return "a drain changes the cluster: on a --kubeconfig cluster it runs only with --disruptive";
  }
  return undefined;
}

/** The scheduler places MySQL on an agent (the server's node runs the control plane, which a node loss must not take). */
async function deployOnAgent(kube: Kube, cluster: NodesCluster, namespace: string, manifests: LoadedObject[]): Promise<DeployedSetup> {
  const server = cluster.nodeContainers.find((n) => n.role === "server");
  if (!server) return DeployedSetup.deploy(kube, namespace, manifests);
  await setCordoned(kube, server.name, true, cluster.runId);
  try {
    const setup = await DeployedSetup.deploy(kube, namespace, manifests);
    await setup.waitForReadyPod();
    return setup;
  } finally {
    await setCordoned(kube, server.name, false, cluster.runId);
  }
}

/** A node for the writer: neither MySQL's (which fails) nor, where there is a choice, the server's. */
async function writerNode(kube: Kube, cluster: NodesCluster, mysqlNode: string): Promise<string> {
  const nodes = (await kube.core.listNode()).items.filter(
    (n) => n.metadata!.name !== mysqlNode && !n.spec?.unschedulable && readyCondition(n).status === "True",
  );
  const agent = nodes.find((n) => cluster.nodeContainers.some((c) => c.role === "agent" && c.name === n.metadata!.name));
  const chosen = agent ?? nodes[0];
  if (!chosen) throw new Error(`no Ready, schedulable node besides ${mysqlNode} for the ledger writer`);
  return chosen.metadata!.name!;
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

function recordMilestones(record: Record_, prefix: string, timeline: Timeline): void {
  for (const m of timeline.milestones) record(milestoneValueName(prefix, m.name), m.atS, "s");
}

/** The manifests with the pod template tolerating a not-ready or unreachable node for `seconds` only. */
function withNodeFailureTolerations(objects: LoadedObject[], seconds: number): LoadedObject[] {
  return objects.map((o) => {
    if (o.object.kind !== "Deployment" && o.object.kind !== "StatefulSet") return o;
    const object = structuredClone(o.object) as LoadedObject["object"] & { spec: { template: { spec: { tolerations?: unknown[] } } } };
    const podSpec = object.spec.template.spec;
    podSpec.tolerations = [
      ...(podSpec.tolerations ?? []),
      ...["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"].map((key) => ({
        key,
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: seconds,
      })),
    ];
    return { ...o, object };
  });
}

describe("node failures: a drain and a lost node, with writes in flight", () => {
  nodesTest(
    "a drain (cordon, then eviction through the Eviction API) keeps the data and every acknowledged write; where the replacement can run is recorded",
    async ({ nodes: cluster, kube, namespace, manifests, record, note, reportLedger, skip, task }) => {
      const reason = skipReason(cluster, false);
      if (reason) return skip(reason);
      const schedulable = (await kube.core.listNode()).items.filter((n) => !n.spec?.unschedulable);
      if (schedulable.length < 2) return skip(`a drain needs a second schedulable node; this cluster has ${schedulable.length}`);
      record("cluster_nodes", (await kube.core.listNode()).items.length, "nodes");

      const setup = await deployOnAgent(kube, cluster, namespace, manifests);
      const pod = await setup.waitForReadyPod();
      const mysqlNode = pod.spec!.nodeName!;
      record("drain_node", mysqlNode, "");
      const { checksums } = await setup.loadDataset();
      const writer = await LedgerWriter.start(setup, `drain-${Date.now()}`, { ...runSettings().ledger, nodeName: await writerNode(kube, cluster, mysqlNode) });
      const timeline = new Timeline();
      const moment = Date.now();
      try {
        await setCordoned(kube, mysqlNode, true, cluster.runId);
        timeline.mark("node cordoned");
        const eviction = await evictPod(kube, namespace, pod.metadata!.name!);
        if (!eviction.evicted) {
          record("drain_blocked", eviction.reason, "");
          note(`the drain of ${mysqlNode} could not evict MySQL's pod: ${eviction.reason}`);
        } else {
          timeline.mark("pod evicted");
          // Until the replacement runs, or the scheduler has said for drainHoldS why it cannot.
          await observeUntil(
            setup,
            mysqlNode,
            pod.metadata!.name!,
            timeline,
            `the replacement to be Ready or unschedulable for ${drainHoldS} s`,
            () => {
              const stuck = timeline.get("replacement unschedulable");
              return Boolean(timeline.get("replacement Ready") || (stuck && timeline.now() - stuck.atS >= drainHoldS));
            },
            timeouts.podReadyMs,
          );
        }
        const stuck = timeline.get("replacement unschedulable");
        if (stuck) {
          record("drain_scheduler_message", stuck.detail ?? "", "");
          await setCordoned(kube, mysqlNode, false, cluster.runId);
          timeline.mark("node uncordoned");
          record("drain_pending_s", +(timeline.now() - stuck.atS).toFixed(2), "s");
        }
        await observeUntil(
          setup,
          mysqlNode,
          pod.metadata!.name!,
          timeline,
          "the replacement to be Ready",
          () => Boolean(timeline.get("replacement Ready")),
          timeouts.podReadyMs,
        );
        const replacement = await setup.waitForReadyPod({ exclude: pod.metadata!.name! });
        const data = await compareData(kube, { namespace, pod: replacement.metadata!.name!, credentials: await setup.rootCredentials() }, checksums);
        expect(data.differences, `the dataset is unchanged across the drain of ${mysqlNode}`).toEqual([]);
        timeline.mark("data verified");
        record("drain_replacement_node", replacement.spec!.nodeName!, "");
        recordMilestones(record, "drain_", timeline);
        task.meta.milestones = { disruption: `drain of ${mysqlNode}`, budgetS, milestones: timeline.milestones };
        if (stuck) {
          note(
            `a drain of MySQL's node leaves MySQL down until the node is uncordoned: the replacement stayed Pending ("${stuck.detail}") ` +
              `for as long as the node was cordoned (the suite uncordoned it after ${drainHoldS} s; a real maintenance window lasts minutes to hours); ` +
              `the claim's volume lives on ${mysqlNode} (local-path pins it there by node affinity), so no other node can run MySQL. ` +
              `Maintenance on that node means downtime for as long as it lasts; storage that can attach on another node (network block storage) is what a drain needs.`,
          );
        }
      } finally {
        await uncordonRun(kube, cluster.runId).catch(() => undefined);
      }
      await writer.settle();
      const ledger = summarizeLedger(await writer.stopAndVerify(), disruptionsOf("drain", [moment]));
      reportLedger(ledger);
      expect(ledger.violations, "acknowledged commits lost, or rows phantom, duplicated or corrupted across the drain").toBe("");
    },
  );

  const cases = [
    { name: "Kubernetes' defaults", key: "default", oos: false, tolerations: false },
    { name: "the out-of-service taint (non-graceful node shutdown)", key: "out_of_service", oos: true, tolerations: false },
    { name: `tolerations shortened to ${shortTolerationS} s`, key: "short_tolerations", oos: false, tolerations: true },
  ] as const;

  for (const c of cases) {
    nodesTest(
      `a lost node (power cut) with ${c.name}: every milestone timed, the data and every acknowledged write kept once the node is back`,
      async ({ nodes: cluster, kube, namespace, manifests, record, note, reportLedger, skip, task }) => {
        const reason = skipReason(cluster, true);
        if (reason) return skip(reason);
        const { mode, objects: onLayer } = await powerCutPlan(cluster, manifests, note);
        const objects = c.tolerations ? withNodeFailureTolerations(onLayer, shortTolerationS) : onLayer;
        const setup = await deployOnAgent(kube, cluster, namespace, objects);
        const pod = await setup.waitForReadyPod();
        const mysqlNode = pod.spec!.nodeName!;
        const node = cluster.nodeContainers.find((n) => n.name === mysqlNode);
        if (!node)
          throw new Error(
            `MySQL runs on ${mysqlNode}, which is not one of this run's node containers (${cluster.nodeContainers.map((n) => n.name).join(", ")})`,
          );
        record("node_loss_case", c.key, "");
        record("node_loss_node", mysqlNode, "");
        record("node_loss_pod_tolerations", nodeFailureTolerations(pod).join(", ") || "none", "");
        record("cluster_nodes", cluster.nodeContainers.length, "nodes");
        for (const [name, bytes] of Object.entries(await memoryBytes(cluster.nodeContainers)))
          record(`memory_${cluster.nodeContainers.find((n) => n.name === name)!.role}_${name}_mib`, Math.round(bytes / 2 ** 20), "MiB");
        const { checksums } = await setup.loadDataset();
        const writer = await LedgerWriter.start(setup, `node-loss-${c.key.replace(/_/g, "-")}-${Date.now()}`, {
          ...runSettings().ledger,
          nodeName: await writerNode(kube, cluster, mysqlNode),
        });
        const oldPod = pod.metadata!.name!;
        const timeline = new Timeline();
        let moment = Date.now();
        let powered = false;
        try {
          if (mode === "lazyfs") {
            // The power cut: every byte no fsync persisted is dropped, then the node is killed.
            const cut = await cutLayers(node.containerId, {
              armed: { layer: "lazyfs", pattern: commitLogPattern, withinMs: timeouts.powerCutArmMs },
            });
            const dataCut = cut.find((x) => x.layer === "lazyfs")!;
            moment = dataCut.atMs;
            record("power_cut_dropped_bytes", dataCut.droppedBytes, "B");
            record("power_cut_durable_bytes_dropped", durableBytesDropped(dataCut.files), "B");
            record("power_cut_trigger", dataCut.triggerPath ? `write to ${dataCut.triggerPath}` : dataCut.trigger, "");
          }
          await powerOff(node);
          timeline.mark("node powered off");
          if (c.oos) {
            // An operator who knows the node is down adds the taint; the controllers act on it once the node is NotReady.
            await observeUntil(
              setup,
              mysqlNode,
              oldPod,
              timeline,
              `node ${mysqlNode} to be NotReady`,
              () => Boolean(timeline.get("node NotReady")),
              timeouts.nodeLossObservationMs,
            );
            await setTaint(kube, mysqlNode, outOfServiceTaint, true);
            timeline.mark("out-of-service taint added");
          }
          await observeUntil(
            setup,
            mysqlNode,
            oldPod,
            timeline,
            "a replacement pod that is Ready, or unschedulable",
            () => Boolean(timeline.get("replacement Ready") || timeline.get("replacement unschedulable")),
            timeouts.nodeLossObservationMs,
          );
          if (!timeline.get("replacement Ready")) {
            if (c.oos) {
              await setTaint(kube, mysqlNode, outOfServiceTaint, false);
              timeline.mark("out-of-service taint removed");
            }
            await powerOn(node);
            powered = true;
            timeline.mark("node powered on");
            await observeUntil(
              setup,
              mysqlNode,
              oldPod,
              timeline,
              "the replacement to be Ready once the node is back",
              () => Boolean(timeline.get("replacement Ready")),
              timeouts.clusterStartMs + timeouts.podReadyMs,
            );
          }
          const replacement = await setup.waitForReadyPod({ exclude: oldPod });
          const data = await compareData(kube, { namespace, pod: replacement.metadata!.name!, credentials: await setup.rootCredentials() }, checksums);
          expect(data.differences, `the dataset is unchanged across the loss of node ${mysqlNode}`).toEqual([]);
          timeline.mark("data verified");
        } finally {
          if (!powered) await powerOn(node).catch(() => undefined);
          if (c.oos) await setTaint(kube, mysqlNode, outOfServiceTaint, false).catch(() => undefined);
          recordMilestones(record, "node_loss_", timeline);
          task.meta.milestones = { disruption: `loss of node ${mysqlNode} with ${c.name}`, budgetS, milestones: timeline.milestones };
        }
        // The node is back: wait for it to be Ready so the next case starts from three nodes.
        await waitFor(
          () => kube.core.readNode({ name: mysqlNode }),
          (n) => readyCondition(n).status === "True",
          {
            what: `node ${mysqlNode} to be Ready again`,
            signal: kube.signal,
            timeoutMs: timeouts.clusterStartMs,
            intervalMs: pollIntervals.clusterMs,
            describe: (n) => `Ready=${readyCondition(n).status}`,
          },
        );
        const recovered = timeline.get("data verified")!.atS;
        record("node_loss_recovered_s", recovered, "s");
        record("node_loss_budget_s", budgetS, "s");
        note(nodeLossVerdict(c.name, mysqlNode, timeline, budgetS, nodeFailureTolerations(pod)));
        await writer.settle();
        const ledger = summarizeLedger(await writer.stopAndVerify(), disruptionsOf(`loss of ${mysqlNode}`, [moment]), { powerLoss: mode === "lazyfs" });
        reportLedger(ledger);
        expect(ledger.violations, `acknowledged commits lost, or rows phantom, duplicated or corrupted across the loss of ${mysqlNode}`).toBe("");
      },
    );
  }

  nodesTest(
    `${restartCycles} reboot${restartCycles > 1 ? "s" : ""} of MySQL's node (a power cut: every byte not yet synced dropped, the node container killed and started at once), each timed, with the data and every acknowledged write kept`,
    async ({ nodes: cluster, kube, namespace, manifests, record, note, reportLedger, skip }) => {
      const reason = skipReason(cluster, true);
      if (reason) return skip(reason);
      const { mode, objects } = await powerCutPlan(cluster, manifests, note);
      const setup = await deployOnAgent(kube, cluster, namespace, objects);
      const pod = await setup.waitForReadyPod();
      const mysqlNode = pod.spec!.nodeName!;
      const node = cluster.nodeContainers.find((n) => n.name === mysqlNode);
      if (!node)
        throw new Error(`MySQL runs on ${mysqlNode}, which is not one of this run's node containers (${cluster.nodeContainers.map((n) => n.name).join(", ")})`);
      record("node_restart_node", mysqlNode, "");
      record("power_cut_mode", mode, "");
      if (mode === "lazyfs") expect(await dataDirFsType(setup, pod.metadata!.name!), "the data directory is on the lazy layer").toBe("fuse.lazyfs");
      const { checksums } = await setup.loadDataset();
      const writer = await LedgerWriter.start(setup, `node-restart-${Date.now()}`, {
        ...runSettings().ledger,
        nodeName: await writerNode(kube, cluster, mysqlNode),
      });
      const seed = Date.now() % 2 ** 31;
      const random = seededRandom(seed);
      record("power_cut_seed", seed, "");
      const cycles: PowerCutCycle[] = [];
      try {
        for (let n = 1; n <= restartCycles; n++) {
          const torn = n % 2 === 0 ? { seed: Math.floor(random() * 2 ** 31) } : undefined;
          const cycle = await powerCutAndMeasure(setup, node, checksums, {
            layer: "lazyfs",
            mode,
            armDelayMs: Math.round(random() * 1000),
            ...(torn ? { torn } : {}),
          });
          cycles.push(cycle);
          expect(cycle.dataDifferences, `the dataset is unchanged across restart ${n} of node ${mysqlNode}`).toEqual([]);
          await writer.settle();
        }
      } finally {
        await powerOn(node).catch(() => undefined);
        for (const [name, { value, unit }] of Object.entries(powerCutValues(cycles))) record(name, value, unit);
        if (cycles.length) {
          record("node_restart_cycles", cycles.length, "cycles");
          recordSpread(
            record,
            "node_restart",
            cycles.map((c) => c.firstVerifiedQuery_s),
          );
        }
      }
      const recoveries = cycles.map((c) => c.firstVerifiedQuery_s);
      const moments = cycles.map((c) => c.atMs);
      const over = recoveries.filter((s) => s > budgetS);
      if (over.length)
        note(
          `after ${over.length} of ${recoveries.length} restarts of MySQL's node, verified data came back later than the ${budgetS} s budget (up to ${Math.max(...over)} s)`,
        );
      expect(inconclusiveCuts(cycles), "most power cuts dropped unsynced data of the database").toBeUndefined();
      const ledger = summarizeLedger(await writer.stopAndVerify(), disruptionsOf(`restart of ${mysqlNode}`, moments), { powerLoss: mode === "lazyfs" });
      reportLedger(ledger);
      expect(ledger.violations, `acknowledged commits lost, or rows phantom, duplicated or corrupted across the restarts of ${mysqlNode}`).toBe("");
    },
  );
});
