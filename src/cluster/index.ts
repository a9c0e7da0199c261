import { importProjectImages } from "./project-images.ts";
import { randomBytes } from "node:crypto";
import { runLabel } from "../labels.ts";
import { readKubeconfig } from "../kube/kubeconfig.ts";
import { chooseClusterImage, type ImageChoice, type ImageWanted } from "./images.ts";
import { startNodeContainer, type PrivilegedAdaptation } from "./k3s.ts";
import { waitForNodeFile } from "./node.ts";
import { startReaper } from "./reaper.ts";

/** What the suites need to know about the cluster; plain data, so vitest can pass it to workers. */
export interface ClusterInfo {
  kind: "k3s" | "kubeconfig";
  kubeconfig: string;
  /** Where the kubeconfig came from, for messages ("K3sContainer", a file path). */
  origin: string;
  image?: ImageChoice;
  privileged?: PrivilegedAdaptation;
  /** The node container, when the suite started the cluster (for node-level checks). */
  nodeContainerId?: string;
  /** Every node's container, when the suite started a cluster of several (the nodes suite). */
  nodes?: import("./multi-node.ts").ClusterNode[];
  startSeconds?: number;
  runId: string;
}

export interface Cluster extends ClusterInfo {
  stop(): Promise<void>;
  /**
   * Embedded clusters only: kills the node container (as a power cut would)
   * and starts it again with its volumes; resolves with the new kubeconfig
   * (Docker maps the API port anew) once the node logs its controller sync.
   */
  restartNode?(): Promise<string>;
  /**
   * The offline node imports the images only some runs use (the second
   * database engine) after it is Ready; resolves once they are in.
   */
  waitForAllImages?(): Promise<void>;
}

export function newRunId(): string {
  return `${new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}-${randomBytes(3).toString("hex")}`;
}

/** An existing cluster, named by a kubeconfig file. The suite never stops it. */
export function clusterFromKubeconfig(path: string, runId: string): Cluster {
  // Content-free errors: a kubeconfig that does not parse is named with the line and the cause, never quoted.
  const kubeconfig = readKubeconfig(path).text;
  return { kind: "kubeconfig", kubeconfig, origin: path, runId, stop: async () => undefined };
}

/** A new single-node k3s (or k3s-compatible offline node) in a container, of the image chosen already or as wanted. */
export async function startEmbeddedCluster(runId: string, imageOrWanted: ImageChoice | ImageWanted): Promise<Cluster> {
  startReaper(runId);
  const image = "image" in imageOrWanted ? imageOrWanted : await chooseClusterImage(imageOrWanted);
  // Ryuk, testcontainers' reaper, is an image too: where the offline image had
  // to be used, it cannot be pulled either. The run's own reaper covers it.
  // testcontainers takes this setting from the environment only (and a user's own wins).
  if (image.source === "offline" && process.env.TESTCONTAINERS_RYUK_DISABLED === undefined) {
    process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
  }
  const started = performance.now();
  let container;
  let privileged: PrivilegedAdaptation;
  try {
    ({ container, privileged } = await startNodeContainer(image.image, runId));
  } catch (error) {
    throw new Error(
      `the cluster container (${image.image}) did not start: ${(error as Error).message}\n` +
        "Its logs are above when testcontainers captured them; 'docker logs' of a container labelled " +
        `${runLabel}=${runId} shows the rest if it still exists.`,
    );
  }
  // Any node but the offline one lacks the suite's own images (no registry serves them): imported now.
  if (image.source !== "offline") {
    try {
      const { images, seconds } = await importProjectImages([container.getId()]);
      process.stderr.write(`storage-conformance: imported into the node in ${seconds.toFixed(1)} s: ${images.join(", ") || "none"}\n`);
    } catch (error) {
      await container.stop({ remove: true, removeVolumes: true }).catch(() => undefined);
      throw error;
    }
  }
  const startSeconds = (performance.now() - started) / 1000;
  return {
    kind: "k3s",
    kubeconfig: container.getKubeConfig(),
    origin: `K3sContainer(${image.image})`,
    image,
    privileged,
    nodeContainerId: container.getId(),
    startSeconds,
    runId,
    stop: async () => {
      await container.stop({ remove: true, removeVolumes: true });
    },
    restartNode: async () => {
      await container.restart({ timeout: 0 });
      return container.getKubeConfig();
    },
    waitForAllImages: async () => {
      if (image.source !== "offline") return;
      await waitForNodeFile(
        container.getId(),
        "/run/kubenode/all-images-imported",
        "the offline node to import its deferred images (the second database engine)",
      );
    },
  };
}

/** --kubeconfig / KUBECONFIG when given (the run's settings), else the embedded cluster of the image wanted. */
export async function startCluster(options: { kubeconfig?: string; runId?: string; image: ImageWanted }): Promise<Cluster> {
  const runId = options.runId ?? newRunId();
  return options.kubeconfig ? clusterFromKubeconfig(options.kubeconfig, runId) : startEmbeddedCluster(runId, options.image);
}
