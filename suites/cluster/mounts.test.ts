import { execOnNode } from "../../src/cluster/node.ts";
import { verifyBinding } from "../../src/conformance/binding.ts";
import { DeployedSetup } from "../../src/design/deployment.ts";
import { kubeletCsiPath, probeSecondPod, verifyLiveMount } from "../../src/conformance/mounts.ts";
import { describe, expect, test } from "../support/test.ts";

describe("/var/lib/mysql in the running pod", () => {
  test("is a writable mount of the claim's volume holding MySQL's data files, and a file written there is on the volume", async ({
    kube,
    cluster,
    namespace,
    manifests,
    record,
    note,
  }) => {
    const setup = await DeployedSetup.deploy(kube, namespace, manifests);
    const db = await setup.open();
    const [rows] = await db.connection.query("SELECT VERSION() AS version, @@datadir AS datadir");
    await db.close();
    const { version, datadir } = (rows as { version: string; datadir: string }[])[0]!;
    record("server_version", version, "");
    const mountPath = setup.workload.dataMount?.mountPath ?? "(none)";
    expect(datadir.replace(/\/$/, ""), `mysqld's datadir is ${datadir}, but the claim is mounted at ${mountPath}`).toBe("/var/lib/mysql");

    const binding = await verifyBinding(setup);
    const pod = await setup.waitForReadyPod();
    const mount = await verifyLiveMount(setup, pod, binding.volume);
    record("mount_source", mount.source, "");
    record("mount_device", `${mount.deviceSource} (${mount.device})`, "");
    record("mount_fs_type", mount.fsType, "");
    record("data_files", mount.dataFiles.length, "entries");

    // Outside the pod: on the node, where the volume really lives (the embedded cluster): a hostPath or
    // local volume's directory, or the kubelet's directory of a CSI volume (the whole filesystem).
    const uid = pod.metadata?.uid;
    const onNode = binding.volume.path ?? (binding.volume.csiDriver && uid ? kubeletCsiPath(uid, binding.volume.name) : undefined);
    if (cluster.nodeContainerId && onNode) {
      const seen = await execOnNode(cluster.nodeContainerId, ["cat", `${onNode}/${mount.marker.file}`]);
      expect(seen.exitCode, `the marker written through the pod is not at ${onNode} on the node: ${seen.output}`).toBe(0);
      expect(seen.output.trim()).toBe(mount.marker.content);
      record("marker_found_outside_pod", `node:${onNode}`, "");
    }

    // Elsewhere (no node to look at): through a second pod mounting the claim on the same node.
    // Whether that second pod should have been able to is the security suite's question ("Volume accessible only to MySQL pods").
    if (!(cluster.nodeContainerId && onNode)) {
      const second = await probeSecondPod(setup, pod, mount.marker);
      if (second.concurrent) record("marker_found_outside_pod", "second pod", "");
      else note(`the marker was not read from outside the pod: ${second.detail}`);
    }
  });
});
