import { execa } from "execa";
import { projectRoot } from "../paths.ts";
import { pinnedVersions } from "./images.ts";

/**
 * The images the suite itself runs in a cluster (the ledger writer, fio and
 * sysbench), built here by scripts/build-project-images.sh and never pulled:
 * no registry serves them. The offline node has them baked in; any other k3s
 * node (the upstream rancher/k3s image, K3S_IMAGE) gets them imported into
 * its containerd when it starts, as `k3s ctr images import` would.
 */
export function projectImages(): { writer: string; bench: string } {
  const v = pinnedVersions();
  return {
    writer: `localhost/storage-conformance/ledger-writer:${v.LEDGER_WRITER_VERSION}`,
    bench: `localhost/storage-conformance/bench:${v.BENCH_IMAGE_TAG}`,
  };
}

/** Where k3s (and the offline node) runs its containerd. */
const containerdSocket = "/run/k3s/containerd/containerd.sock";

/**
 * Builds the project's images when the host lacks them, then streams them
 * into every node container's containerd. Resolves with the seconds it took;
 * throws naming the image, the node and the cause.
 */
export async function importProjectImages(nodeContainerIds: string[]): Promise<number> {
  const started = performance.now();
  const built = await execa("bash", [`${projectRoot}/scripts/build-project-images.sh`, "writer", "bench"], { reject: false, all: true });
  if (built.exitCode !== 0)
    throw new Error(
      `the suite's own images (the ledger writer, fio and sysbench) could not be built for this cluster:\n${String(built.all).trim().split("\n").slice(-10).join("\n")}`,
    );
  await importImages(nodeContainerIds, String(built.stdout).trim().split("\n").filter(Boolean));
  return (performance.now() - started) / 1000;
}

/**
 * Streams each of the host's `images` (`docker save`) into every node
 * container's containerd (`ctr images import`, namespace k8s.io, where the
 * kubelet looks), as `k3s ctr images import` would.
 */
export async function importImages(nodeContainerIds: string[], images: string[]): Promise<void> {
  for (const id of nodeContainerIds) {
    for (const image of images) {
      const saved = execa("docker", ["save", image], { buffer: { stdout: false } });
      const imported = await saved
        .pipe("docker", ["exec", "-i", id, "ctr", "--address", containerdSocket, "-n", "k8s.io", "images", "import", "-"], { reject: false, all: true })
        .catch((error: unknown) => error as { exitCode?: number; all?: string; message?: string });
      if (imported.exitCode !== 0)
        throw new Error(
          `importing ${image} into node container ${id.slice(0, 12)} failed (exit ${imported.exitCode}): ${String(imported.all ?? imported.message ?? "").trim()}`,
        );
    }
  }
}
