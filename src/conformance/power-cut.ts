import { cutLayers, lazyLayers, type LayerCut, type LazyLayer } from "../cluster/power.ts";
import { powerCutToleration, powerOff, powerOn, type ClusterNode } from "../cluster/multi-node.ts";
import type { Kube } from "../kube/client.ts";
import type { LoadedObject } from "../manifests/load.ts";
import { withPlacement } from "../manifests/placement.ts";
import { withStorageClass } from "../manifests/storage-class.ts";
import { execInPod } from "../kube/exec.ts";
import type { TableChecksums } from "../mysql/dataset.ts";
import { commitLogPattern, durableBytesDropped } from "../mysql/files.ts";
import { compareData } from "../mysql/verify.ts";
import { DeployedSetup } from "../design/deployment.ts";
import { timeouts } from "../timeouts.ts";
import { waitForMysqlStartedAfter } from "./node-restart.ts";
import { nameOf } from "../kube/names.ts";

/** One power cut of MySQL's node, from the cut to verified data. */
export interface PowerCutCycle {
  /** Every layer's cut; the data's layer first (none with SC_POWER_CUT_MODE=kill). */
  cuts: LayerCut[];
  /** The cut of the layer MySQL's data lives on (none with SC_POWER_CUT_MODE=kill). */
  dataCut?: LayerCut;
  /** Unsynced bytes of files holding durable data that the cut dropped: 0 makes the cut inconclusive (it tested nothing). */
  durableBytesDropped: number;
  /** When the data's layer froze (Unix ms, the node's clock: the host's). */
  atMs: number;
  /** Seconds from the cut to each milestone. */
  poweredOn_s: number;
  mysqldReady_s: number;
  firstVerifiedQuery_s: number;
  pod: string;
  dataDifferences: string[];
}

export interface PowerCutOptions {
  /** The lazy layer holding MySQL's data (its claim's class). */
  layer: LazyLayer;
  /** Torn writes: a seeded random half of the unsynced blocks kept. */
  torn?: { seed: number };
  /** kill: no cut, the node container killed alone (the host's page cache keeps every byte), to compare. */
  mode?: "lazyfs" | "kill";
  /**
   * How long to wait before arming: a random moment, so that a server that
   * syncs on a timer (innodb_flush_log_at_trx_commit=2 syncs once a second)
   * meets the cut anywhere in its cycle, not just after its sync.
   */
  armDelayMs: number;
}

/**
 * A power cut of MySQL's node, as storage that keeps nothing unsynced sees
 * one: armed at a random moment, the cut falls on the next write of the
 * redo or binary log (a commit in flight), drops every byte no fsync had
 * persisted on every layer of the node, and the node container is killed
 * and started again. Measured until MySQL serves the same data.
 */
export async function powerCutAndMeasure(setup: DeployedSetup, node: ClusterNode, expected: TableChecksums, options: PowerCutOptions): Promise<PowerCutCycle> {
  const credentials = await setup.rootCredentials();
  if (options.armDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, options.armDelayMs));
  const cuts =
    options.mode === "kill"
      ? []
      : await cutLayers(node.containerId, {
          armed: { layer: options.layer, pattern: commitLogPattern, withinMs: timeouts.powerCutArmMs },
          ...(options.torn ? { torn: options.torn } : {}),
        });
  const killedAtMs = Date.now();
  await powerOff(node);
  const dataCut = cuts.find((c) => c.layer === options.layer);
  const atMs = dataCut?.atMs ?? killedAtMs;
  const since = () => +((Date.now() - atMs) / 1000).toFixed(2);
  await powerOn(node);
  const poweredOn_s = since();
  const pod = await waitForMysqlStartedAfter(
    setup,
    Math.floor(atMs / 1000) * 1000,
    `MySQL to be Ready again after the power cut of node ${node.name}`,
    timeouts.clusterStartMs + timeouts.podReadyMs,
  );
  const mysqldReady_s = since();
  const { answeredAt, differences } = await compareData(setup.kube, { namespace: setup.namespace, pod, credentials }, expected);
  return {
    cuts,
    ...(dataCut ? { dataCut } : {}),
    durableBytesDropped: dataCut ? durableBytesDropped(dataCut.files) : 0,
    atMs,
    poweredOn_s,
    mysqldReady_s,
    firstVerifiedQuery_s: +((performance.timeOrigin + answeredAt - atMs) / 1000).toFixed(2),
    pod,
    dataDifferences: differences,
  };
}

/**
 * The file system type of MySQL's data directory in its running pod: the
 * power-cut checks assert it is the lazy layer's (fuse.lazyfs), so a cut
 * never "passes" on a disk that keeps everything.
 */
export async function dataDirFsType(setup: DeployedSetup, pod: string): Promise<string> {
  const result = await execInPod(
    setup.kube,
    { namespace: setup.namespace, pod, container: setup.workload.container.name },
    [
      "sh",
      "-c",
      `awk -v d=${JSON.stringify(setup.dataDir)} '$5 == d { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i+1); exit } }' /proc/self/mountinfo`,
    ],
    { timeoutMs: timeouts.execMs },
  );
  return result.stdout.trim() || `not a mount point (${result.stderr.trim() || "no line in /proc/self/mountinfo"})`;
}

/** What a series of power cuts records (results.json's power_cut_* and cycleN_* values). */
export function powerCutValues(cycles: PowerCutCycle[]): Record<string, { value: number | string; unit: string }> {
  const values: Record<string, { value: number | string; unit: string }> = {};
  const cut = cycles.filter((c) => c.dataCut);
  values.power_cuts = { value: cycles.length, unit: "cuts" };
  if (cut.length) {
    values.power_cuts_inconclusive = { value: cut.filter((c) => c.durableBytesDropped === 0).length, unit: "cuts" };
    const dropped = cut.map((c) => c.dataCut!.droppedBytes).sort((a, b) => a - b);
    const mid = Math.floor(dropped.length / 2);
    values.power_cut_dropped_bytes_p50 = { value: dropped.length % 2 ? dropped[mid]! : (dropped[mid - 1]! + dropped[mid]!) / 2, unit: "B" };
    values.power_cut_dropped_bytes_max = { value: dropped.at(-1)!, unit: "B" };
  }
  cycles.forEach((c, i) => {
    const n = i + 1;
    if (c.dataCut) {
      values[`cycle${n}_cut`] = { value: c.dataCut.seed !== undefined ? `torn (seed ${c.dataCut.seed})` : "cut", unit: "" };
      values[`cycle${n}_cut_trigger`] = { value: c.dataCut.triggerPath ? `write to ${c.dataCut.triggerPath}` : c.dataCut.trigger, unit: "" };
      values[`cycle${n}_dropped_bytes`] = { value: c.dataCut.droppedBytes, unit: "B" };
      values[`cycle${n}_durable_bytes_dropped`] = { value: c.durableBytesDropped, unit: "B" };
    }
    values[`cycle${n}_node_powered_on_s`] = { value: c.poweredOn_s, unit: "s" };
    values[`cycle${n}_mysqld_ready_s`] = { value: c.mysqldReady_s, unit: "s" };
    values[`cycle${n}_first_verified_query_s`] = { value: c.firstVerifiedQuery_s, unit: "s" };
  });
  return values;
}

/**
 * A cut that dropped nothing a commit could live in proves nothing: the
 * failure message when most of the series was like that, else undefined.
 */
export function inconclusiveCuts(cycles: PowerCutCycle[]): string | undefined {
  const cut = cycles.filter((c) => c.dataCut);
  const inconclusive = cut.filter((c) => c.durableBytesDropped === 0);
  if (!cut.length || inconclusive.length * 2 <= cut.length) return undefined;
  return (
    `${inconclusive.length} of ${cut.length} power cuts dropped no unsynced byte of a file that holds durable data, so they tested nothing ` +
    `(${inconclusive.map((c) => `${c.dataCut!.trigger === "timeout" ? "no write of the redo or binary log" : "only"} ${c.dataCut!.droppedBytes} B dropped`).join("; ")}): ` +
    "is the ledger writer committing, and does the data claim live on the lazy layer?"
  );
}

/** A small seeded generator (mulberry32): the arm delays and torn seeds of a series, reproducible from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * What MySQL's log says about its storage (O_DIRECT refused, fsync errors,
 * native AIO off): how the server behaved on the layer, in its own words.
 */
export async function storageWarnings(setup: DeployedSetup): Promise<string[]> {
  const pods = await setup.kube.core.listNamespacedPod({ namespace: setup.namespace, labelSelector: setup.selector }).catch(() => ({ items: [] }));
  const lines = new Set<string>();
  for (const pod of pods.items) {
    const log = await setup.kube.core
      .readNamespacedPodLog({ name: nameOf(pod), namespace: setup.namespace, container: setup.workload.container.name })
      .catch(() => "");
    for (const line of log.split("\n"))
      if (/O_DIRECT|fsync|fdatasync|native aio|io_uring|Operating system error|\[ERROR\].*(InnoDB|file)/i.test(line))
        lines.add(
          line
            .replace(/^\S+\s+/, "")
            .trim()
            .slice(0, 240),
        );
  }
  return [...lines].slice(0, 8);
}

/**
 * The design deployed for power cuts: its claims on the lazy layer's class,
 * its pods on the power-cut agent (tolerating its taint), Ready, with the
 * data directory's file system type read from the running pod.
 */
export async function deployForPowerCuts(
  kube: Kube,
  namespace: string,
  manifests: LoadedObject[],
  agent: ClusterNode,
  layer: LazyLayer,
): Promise<{ setup: DeployedSetup; pod: string; fsType: string; storageClass: string }> {
  const storageClass = lazyLayers[layer].storageClass;
  const objects = withPlacement(withStorageClass(manifests, storageClass), { node: agent.name, tolerations: [powerCutToleration] });
  const setup = await DeployedSetup.deploy(kube, namespace, objects);
  const pod = nameOf(await setup.waitForReadyPod());
  return { setup, pod, fsType: await dataDirFsType(setup, pod), storageClass };
}

/** A node for the ledger writer that the power cuts never reach: any but the agent's. */
export async function writerNodeBesides(kube: Kube, agent: ClusterNode): Promise<string> {
  const other = (await kube.core.listNode()).items.map(nameOf).find((name) => name !== agent.name);
  if (!other) throw new Error(`no node besides ${agent.name} for the ledger writer, which a power cut must not reach`);
  return other;
}
