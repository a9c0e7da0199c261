import { execOnNode } from "./node.ts";

/**
 * Power cuts that lose what was never synced. Killing a node container keeps
 * the host's page cache, so every byte written survives it; the offline node
 * therefore mounts lazy layers (images/lazyfs) under its lazy storage
 * classes, which hold written data in their own memory until it is fsynced.
 * A power cut is the layers' cut (every unsynced byte dropped, the disk
 * frozen so it never acknowledges again), then the container killed.
 */

/** The node's lazy layers: the class whose volumes live on each, and its control socket. */
export const lazyLayers = {
  lazyfs: { storageClass: "local-path-lazyfs", socket: "/run/kubenode/lazyfs.sock", fsync: "persists the data" },
  "lazyfs-lying": {
    storageClass: "local-path-lazyfs-lying",
    socket: "/run/kubenode/lazyfs-lying.sock",
    fsync: "is acknowledged at once and the data written back every 5 s (a disk that lies)",
  },
} as const;

export type LazyLayer = keyof typeof lazyLayers;

/** Where the node says why it has no lazy layer. */
const unavailableMarker = "/run/kubenode/lazyfs-unavailable";

/** What one layer's cut dropped. */
export interface LayerCut {
  layer: LazyLayer;
  /** cut, or torn (a random half of the unsynced blocks kept). */
  command: "cut" | "torn";
  seed?: number;
  /** write: a matching write set the cut off; timeout: none came within the wait; immediate: not armed. */
  trigger: "write" | "timeout" | "immediate";
  triggerPath?: string;
  waitedMs: number;
  /** The moment the layer froze, on the node's clock (Unix ms). */
  atMs: number;
  dirtyBytesBefore: number;
  droppedBytes: number;
  keptBytes: number;
  droppedFiles: number;
  /** Unsynced data the layer had written back anyway (over its dirty limit) since the previous cut. */
  writtenBackBytes: number;
  files: { path: string; droppedBytes: number; keptBytes: number }[];
}

/** One line of `lazyfs ctl` (a cut's JSON reply) as a LayerCut; throws naming the line when it is not one. */
export function parseCutReply(layer: LazyLayer, output: string): LayerCut {
  const line = output.trim().split("\n").at(-1) ?? "";
  let reply: Record<string, unknown>;
  try {
    reply = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`the ${layer} layer's cut answered what is not JSON: ${output.trim().slice(0, 300) || "nothing"}`);
  }
  if (typeof reply.error === "string") throw new Error(`the ${layer} layer refused the cut: ${reply.error}`);
  const number = (name: string): number => {
    const value = reply[name];
    if (typeof value !== "number") throw new Error(`the ${layer} layer's cut reply has no number ${name}: ${line.slice(0, 300)}`);
    return value;
  };
  const command = reply.command;
  if (command !== "cut" && command !== "torn") throw new Error(`the ${layer} layer's reply is not a cut's: ${line.slice(0, 300)}`);
  const at = Date.parse(String(reply.at));
  if (Number.isNaN(at)) throw new Error(`the ${layer} layer's cut reply has no time: ${line.slice(0, 300)}`);
  const trigger = reply.trigger === "write" || reply.trigger === "timeout" ? reply.trigger : "immediate";
  const files = Array.isArray(reply.files) ? (reply.files as Record<string, unknown>[]) : [];
  return {
    layer,
    command,
    ...(typeof reply.seed === "number" ? { seed: reply.seed } : {}),
    trigger,
    ...(typeof reply.trigger_path === "string" ? { triggerPath: reply.trigger_path } : {}),
    waitedMs: typeof reply.waited_ms === "number" ? reply.waited_ms : 0,
    atMs: at,
    dirtyBytesBefore: number("dirty_bytes_before"),
    droppedBytes: number("dropped_bytes"),
    keptBytes: number("kept_bytes"),
    droppedFiles: number("dropped_files"),
    writtenBackBytes: number("written_back_bytes_since_last_cut"),
    files: files.map((f) => ({ path: String(f.path ?? ""), droppedBytes: Number(f.dropped_bytes ?? 0), keptBytes: Number(f.kept_bytes ?? 0) })),
  };
}

/**
 * Whether a node's image carries the lazy layers at all: the offline node
 * does, k3s's own image does not (a node of that image can only be killed,
 * which keeps every byte written).
 */
export async function nodeHasLazyLayers(containerId: string): Promise<boolean> {
  return (await execOnNode(containerId, ["sh", "-c", "command -v lazyfs"])).exitCode === 0;
}

/** Why this node cannot cut power through its layers, or undefined when it can. */
export async function lazyLayerUnavailable(containerId: string): Promise<string | undefined> {
  const marker = await execOnNode(containerId, ["cat", unavailableMarker]);
  if (marker.exitCode === 0) return marker.output.trim() || "the node recorded no reason";
  for (const [layer, { socket }] of Object.entries(lazyLayers)) {
    const stats = await execOnNode(containerId, ["lazyfs", "ctl", "--control", socket, "stats"]);
    if (stats.exitCode !== 0)
      return `the node's ${layer} layer does not answer (${stats.output.trim() || `exit ${stats.exitCode}`}): a node image without lazyfs cannot cut power`;
  }
  return undefined;
}

export interface CutOptions {
  /**
   * The cut waits for the next write to a file of `layer` whose path matches
   * `pattern` (the redo or binary log: a commit in flight), at most `withinMs`.
   */
  armed?: { layer: LazyLayer; pattern: string; withinMs: number };
  /** Keep a random half of the unsynced blocks (torn writes) instead of dropping all. */
  torn?: { seed: number };
}

/**
 * Cuts every lazy layer of the node: the armed one first (it returns once
 * its trigger fired and it froze), then the others at once. The node must be
 * killed right after: a frozen layer never acknowledges again.
 */
export async function cutLayers(containerId: string, options: CutOptions = {}): Promise<LayerCut[]> {
  const order = (Object.keys(lazyLayers) as LazyLayer[]).sort((a, b) => Number(b === options.armed?.layer) - Number(a === options.armed?.layer));
  const cuts: LayerCut[] = [];
  for (const layer of order) {
    const torn = options.torn ? ["torn", String(options.torn.seed)] : ["cut"];
    const armed = options.armed?.layer === layer ? options.armed : undefined;
    const command = armed
      ? [
          options.torn ? "torn-after-write" : "cut-after-write",
          String(Math.max(1, Math.round(armed.withinMs))),
          armed.pattern,
          ...(options.torn ? [String(options.torn.seed)] : []),
        ]
      : torn;
    const result = await execOnNode(containerId, ["lazyfs", "ctl", "--control", lazyLayers[layer].socket, ...command]);
    if (result.exitCode !== 0) throw new Error(`cutting the node's ${layer} layer failed (exit ${result.exitCode}): ${result.output.trim()}`);
    cuts.push(parseCutReply(layer, result.output));
  }
  return cuts;
}
