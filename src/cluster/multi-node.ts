import { importProjectImages } from "./project-images.ts";
import { GenericContainer, getContainerRuntimeClient, Wait, type StartedTestContainer } from "testcontainers";
import { connect } from "../kube/client.ts";
import { waitFor } from "../kube/wait.ts";
import { readyCondition, waitForNodeReady } from "../kube/waits.ts";
import { pollIntervals, timeouts } from "../timeouts.ts";
import { managedBy, runLabel } from "../labels.ts";
import { probePrivilegedMode } from "./docker.ts";
import { startEmbeddedCluster, type Cluster, type ClusterInfo } from "./index.ts";
import type { ImageWanted } from "./images.ts";
import { adaptPrivilegedMode } from "./k3s.ts";
import { execOnNode, waitForNodeFile } from "./node.ts";
import { nameOf } from "../kube/names.ts";

/** Where k3s (and the offline node) writes the token agents join with. */
const nodeTokenPath = "/var/lib/rancher/k3s/server/node-token";

/** The nodes suite's cluster: a server and this many agents. */
export const nodesSuiteAgents = 2;

export interface ClusterNode {
  name: string;
  role: "server" | "agent";
  containerId: string;
}

export interface MultiNodeCluster extends Cluster {
  nodes: ClusterNode[];
}

/** Kills a node's container at once, as a power cut would; its volumes stay. */
export async function powerOff(node: ClusterNode): Promise<void> {
  const client = await getContainerRuntimeClient();
  await client.container.getById(node.containerId).kill({ signal: "SIGKILL" });
}

/** Starts a powered-off node's container again (it rejoins with its volumes). */
export async function powerOn(node: ClusterNode): Promise<void> {
  const client = await getContainerRuntimeClient();
  await client.container.getById(node.containerId).start();
}

/** The node containers' memory use now, in bytes (Docker's stats, page cache excluded). */
export async function memoryBytes(nodes: ClusterNode[]): Promise<Record<string, number>> {
  const client = await getContainerRuntimeClient();
  const usage: Record<string, number> = {};
  for (const node of nodes) {
    const stats = await client.container.getById(node.containerId).stats({ stream: false });
    const detail = stats.memory_stats.stats as Record<string, number> | undefined;
    usage[node.name] = (stats.memory_stats.usage ?? 0) - (detail?.total_inactive_file ?? detail?.inactive_file ?? 0);
  }
  return usage;
}

/**
 * An agent node: the cluster image run as `agent --server URL --token TOKEN`
 * (k3s's own command line, which the offline node also speaks), with the same
 * host access as the server's node container.
 */
class AgentContainer extends GenericContainer {
  constructor(image: string, runId: string, name: string, server: string, token: string, kubeletArgs: string[] = []) {
    super(image);
    // As K3sContainer does: the node's kubelet manages cgroups in the host's namespace.
    (this.hostConfig as { CgroupnsMode?: string }).CgroupnsMode = "host";
    this.withLabels({ ...managedBy, [runLabel]: runId })
      .withCommand(["agent", `--server=${server}`, `--token=${token}`, `--node-name=${name}`, ...kubeletArgs.map((a) => `--kubelet-arg=${a}`)])
      .withPrivilegedMode()
      .withBindMounts([{ source: "/sys/fs/cgroup", target: "/sys/fs/cgroup" }])
      .withTmpFs({ "/run": "rw", "/var/run": "rw" })
      // The offline node logs "agent NAME Ready"; k3s's embedded kubelet logs the registration.
      .withWaitStrategy(Wait.forLogMessage(/agent \S+ Ready after|Successfully registered node/))
      .withStartupTimeout(timeouts.clusterStartMs);
  }

  adaptPrivilegedMode(reason: string): void {
    adaptPrivilegedMode(this.hostConfig, reason);
  }
}

/**
 * Agents joined to `server` (an embedded cluster this run started), started
 * together: each imports the images into its containerd, which is most of
 * its start. `kubeletArgs` go to every agent's kubelet (k3s's --kubelet-arg).
 */
async function startAgents(server: ClusterInfo, names: string[], kubeletArgs: string[] = []): Promise<Map<string, StartedTestContainer>> {
  const client = await getContainerRuntimeClient();
  const serverInfo = await client.container.getById(server.nodeContainerId!).inspect();
  const serverIp = Object.values(serverInfo.NetworkSettings.Networks)[0]?.IPAddress;
  if (!serverIp) throw new Error(`the server's container ${server.nodeContainerId!.slice(0, 12)} has no address on a Docker network for agents to reach`);
  const token = (await execOnNode(server.nodeContainerId!, ["cat", nodeTokenPath])).output.trim();
  if (!token) throw new Error(`the server wrote no ${nodeTokenPath}: agents cannot join`);
  const image = server.image!.image;
  const probe = await probePrivilegedMode(image);
  const started = new Map<string, StartedTestContainer>();
  const results = await Promise.allSettled(
    names.map(async (name) => {
      const agent = new AgentContainer(image, server.runId, name, `https://${serverIp}:6443`, token, kubeletArgs);
      if (!probe.works) agent.adaptPrivilegedMode(probe.reason);
      try {
        started.set(name, await agent.start());
      } catch (error) {
        throw new Error(`agent ${name} did not join the server at ${serverIp}: ${(error as Error).message}`);
      }
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await Promise.all([...started.values()].map((c) => c.stop({ remove: true, removeVolumes: true }).catch(() => undefined)));
    throw failed.reason;
  }
  if (server.image!.source !== "offline") await importProjectImages([...started.values()].map((c) => c.getId()));
  return started;
}

/** The taint that keeps every pod but the power-cut checks' off their agent. */
export const powerCutTaint = { key: "storage-conformance.local/power-cut", value: "true", effect: "NoSchedule" } as const;

export interface PowerCutAgent {
  node: ClusterNode;
  /** Stops the agent's container and deletes its Node object. */
  remove(): Promise<void>;
}

/**
 * One agent joined to the run's embedded cluster for the checks that cut its
 * power: MySQL runs there, the ledger writer on the server, which the cut
 * never reaches. It registers with powerCutTaint, so no other check's pod is
 * ever scheduled onto a node about to lose power.
 */
export async function joinPowerCutAgent(server: ClusterInfo, name: string): Promise<PowerCutAgent> {
  const taint = `${powerCutTaint.key}=${powerCutTaint.value}:${powerCutTaint.effect}`;
  const [container] = [...(await startAgents(server, [name], [`register-with-taints=${taint}`])).values()];
  const kube = connect(server.kubeconfig);
  await waitForNodeReady(kube, name, timeouts.clusterStartMs, `agent ${name} to be Ready`);
  return {
    node: { name, role: "agent", containerId: container!.getId() },
    remove: async () => {
      await container!.stop({ remove: true, removeVolumes: true }).catch(() => undefined);
      await kube.core.deleteNode({ name }).catch(() => undefined);
    },
  };
}

/**
 * A server and `agents` agent nodes, each in its container and labelled with
 * the run id (the reaper removes them however the run ends). Resolves once
 * every node is Ready.
 */
export async function startMultiNodeCluster(runId: string, agents: number, image: ImageWanted): Promise<MultiNodeCluster> {
  const server = await startEmbeddedCluster(runId, image);
  const started = performance.now();
  const containers = new Map<string, StartedTestContainer>();
  const stopAll = async () => {
    await Promise.all([...containers.values()].map((c) => c.stop({ remove: true, removeVolumes: true }).catch(() => undefined)));
    await server.stop();
  };
  try {
    const suffix = runId.slice(-6);
    const names = Array.from({ length: agents }, (_, i) => `agent-${i + 1}-${suffix}`);
    // Agents of any image but the offline one get the suite's own images, as the server did.
    for (const [name, container] of await startAgents(server, names)) containers.set(name, container);
    const kube = connect(server.kubeconfig);
    const serverNode = await waitFor(
      () => kube.core.listNode(),
      (list) => list.items.length === agents + 1 && list.items.every((n) => readyCondition(n).status === "True"),
      {
        what: `${agents + 1} Ready nodes`,
        timeoutMs: timeouts.clusterStartMs,
        intervalMs: pollIntervals.clusterMs,
        describe: (list) => list.items.map((n) => `${n.metadata?.name}: Ready=${readyCondition(n).status}`).join(", ") || "no nodes",
      },
    ).then((list) => nameOf(list.items.find((n) => !names.includes(nameOf(n)))!));
    const nodes: ClusterNode[] = [
      { name: serverNode, role: "server", containerId: server.nodeContainerId! },
      ...names.map((name) => ({ name, role: "agent" as const, containerId: containers.get(name)!.getId() })),
    ];
    return {
      ...server,
      origin: `${server.origin} + ${agents} agents`,
      startSeconds: (server.startSeconds ?? 0) + (performance.now() - started) / 1000,
      nodes,
      stop: stopAll,
      // MySQL may land on any node: each imports its deferred images (the second engine, fio and sysbench) after it is Ready.
      waitForAllImages: async () => {
        if (server.image?.source !== "offline") return;
        await Promise.all(
          nodes.map((n) =>
            waitForNodeFile(n.containerId, "/run/kubenode/all-images-imported", `node ${n.name} to import its deferred images (the second database engine)`),
          ),
        );
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** A cluster's plain facts (ClusterInfo, which vitest can hand on) with every node container it has. */
export type ClusterWithNodes = ClusterInfo & { nodes: ClusterNode[] };

/**
 * A cluster of a server and `agents` agents for the checks that drain nodes
 * and cut their power: the run's own when it has them already, or when it is
 * a --kubeconfig cluster (never changed; its nodes are not containers of this
 * run, so `nodes` is empty); else one started for the caller, whose `stop`
 * removes it (a no-op for the run's own).
 */
export async function clusterWithAgents(run: ClusterInfo, agents: number, image: ImageWanted): Promise<{ cluster: ClusterWithNodes; stop(): Promise<void> }> {
  if (run.kind === "kubeconfig" || (run.nodes?.length ?? 0) > agents) return { cluster: { ...run, nodes: run.nodes ?? [] }, stop: async () => undefined };
  const own = await startMultiNodeCluster(run.runId, agents, image);
  const { stop, restartNode: _restart, waitForAllImages: _images, ...cluster } = own;
  return { cluster, stop };
}

/** What a pod needs to run on the power-cut agent (the checks that cut its power). */
export const powerCutToleration = { key: powerCutTaint.key, operator: "Equal", value: powerCutTaint.value, effect: powerCutTaint.effect };
