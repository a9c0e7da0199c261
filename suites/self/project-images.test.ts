import { execa } from "execa";
import { execOnNode } from "../../src/cluster/node.ts";
import { importImages, projectImages } from "../../src/cluster/project-images.ts";
import { collectDiagnostics } from "../../src/kube/diagnostics.ts";
import { waitFor } from "../../src/kube/wait.ts";
import { projectRoot } from "../../src/paths.ts";
import { pollIntervals, timeouts } from "../../src/timeouts.ts";
import { describe, expect, test } from "../support/test.ts";

// The upstream k3s image (GitHub's runners, any machine that can pull it) has
// none of the suite's own images: they are streamed into its containerd when
// it starts. No registry serves that image here, so the import is proven on
// this run's node with an image name it has never had.
describe("the suite's own images on a node that lacks them", () => {
  test("are streamed into the node's containerd, and the kubelet runs them with no registry", async ({ cluster, kube, namespace, skip }) => {
    if (cluster.kind !== "k3s" || !cluster.nodeContainerId) return skip("needs a node container of this run (the embedded cluster)");
    const node = cluster.nodeContainerId;
    const probe = `localhost/storage-conformance/import-probe:${cluster.runId.toLowerCase()}`;
    const listed = async () =>
      (await execOnNode(node, ["ctr", "--address", "/run/k3s/containerd/containerd.sock", "-n", "k8s.io", "images", "ls", "-q"])).output;
    await execa("bash", [`${projectRoot}/scripts/build-project-images.sh`, "writer"]);
    await execa("docker", ["tag", projectImages().writer, probe]);
    try {
      expect(await listed(), `the node already has ${probe} before the import`).not.toContain(probe);
      await importImages([node], [probe]);
      expect(await listed(), `the node's containerd after importing ${probe}`).toContain(probe);

      // Started (the writer with no options tries its default server, and waits) or ended: either way the
      // kubelet found the image on the node and the runtime ran its binary.
      await kube.core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: "import-probe" },
          spec: { restartPolicy: "Never", containers: [{ name: "probe", image: probe, imagePullPolicy: "Never" }] },
        },
      });
      const pod = await waitFor(
        () => kube.core.readNamespacedPod({ name: "import-probe", namespace }),
        (p) => {
          const state = p.status?.containerStatuses?.[0]?.state;
          return Boolean(state?.running || state?.terminated) || state?.waiting?.reason === "ErrImageNeverPull";
        },
        {
          what: `a pod of ${probe} to run (imagePullPolicy Never)`,
          signal: kube.signal,
          timeoutMs: timeouts.podReadyMs,
          intervalMs: pollIntervals.defaultMs,
          describe: (p) => JSON.stringify(p.status?.containerStatuses?.[0]?.state ?? p.status?.phase),
          diagnose: async () => (await collectDiagnostics(kube, namespace)).summary,
        },
      );
      const state = pod.status!.containerStatuses![0]!.state!;
      expect(state.waiting?.reason, `the kubelet did not find ${probe} on the node`).toBeUndefined();
    } finally {
      await execOnNode(node, ["ctr", "--address", "/run/k3s/containerd/containerd.sock", "-n", "k8s.io", "images", "rm", probe]).catch(() => undefined);
      await execa("docker", ["rmi", probe], { reject: false });
    }
  });
});
