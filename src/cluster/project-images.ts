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

/** What each of the suite's images is for, to say what cannot run without it. */
const neededBy: Record<"writer" | "bench", string> = {
  writer: "the ledger checks (survival, the nodes suite, test-persistence --writes) will fail without it",
  bench: "the performance suite will fail without it (or set SC_BENCH_IMAGE to an image with fio, sysbench and sh)",
};

/**
 * Builds each of the project's images the host lacks and streams the ones it
 * has into every node container's containerd. An image that cannot be built
 * here (the bench image's Debian root needs root for debootstrap) is said in
 * one line with what needs it, and the run goes on: only those checks fail.
 * Resolves with the images imported and the seconds it took; an import that fails throws, naming the
 * image, the node and the cause.
 */
export async function importProjectImages(nodeContainerIds: string[]): Promise<{ images: string[]; seconds: number }> {
  const started = performance.now();
  const images: string[] = [];
  for (const which of ["writer", "bench"] as const) {
    const built = await execa("bash", [`${projectRoot}/scripts/build-project-images.sh`, which], { reject: false, all: true });
    if (built.exitCode === 0) images.push(String(built.stdout).trim());
    else
      process.stderr.write(
        `storage-conformance: WARNING: the suite's ${which} image could not be built here, so this node does not have it; ${neededBy[which]}:\n  ${String(built.all).trim().split("\n").slice(-3).join("\n  ")}\n`,
      );
  }
  await importImages(nodeContainerIds, images);
  return { images, seconds: (performance.now() - started) / 1000 };
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
