import { startEmbeddedCluster } from "../../src/cluster/index.ts";
import { provideStandardStorageClass } from "../../src/conformance/cluster-setup.ts";
import { crashMysqldAndMeasure } from "../../src/conformance/crash.ts";
import { DeployedSetup } from "../../src/conformance/deployment.ts";
import { restartNodeAndMeasure } from "../../src/conformance/node-restart.ts";
import { connect } from "../../src/kube/client.ts";
import { createNamespace } from "../../src/kube/namespace.ts";
import { timeouts } from "../../src/timeouts.ts";
import { describe, expect, test } from "../support/test.ts";

const budgetS = timeouts.recoveryBudgetMs / 1000;

// Crash and node restart need the node itself: the embedded cluster's container.
// On a cluster from a kubeconfig the suite does not kill processes or nodes it does not own.
describe("the ecomdb dataset", () => {
  test(`survives a crash of mysqld (SIGKILL), recovered within ${budgetS} s`, async ({ cluster, kube, namespace, manifests, record, skip }) => {
    if (!cluster.nodeContainerId) return skip("a crash needs the node's process table: only on the embedded cluster");
    const setup = await DeployedSetup.deploy(kube, namespace, manifests);
    const { checksums: before } = await setup.loadDataset();

    const crash = await crashMysqldAndMeasure(setup, cluster.nodeContainerId, before);
    record("killed", crash.killed, "");
    record("crash_container_restarted_s", crash.containerRestarted_s, "s");
    record("crash_mysqld_ready_s", crash.mysqldReady_s, "s");
    record("crash_recovery_s", crash.firstVerifiedQuery_s, "s");
    expect(
      crash.firstVerifiedQuery_s,
      `after the crash MySQL served verified data ${crash.firstVerifiedQuery_s} s after the SIGKILL, over the ${budgetS} s budget (restarted at ${crash.containerRestarted_s} s, ready at ${crash.mysqldReady_s} s)`,
    ).toBeLessThanOrEqual(budgetS);
  });

  test("survives a restart of the node (the node container killed and started again)", async ({ cluster, manifests, record, note, skip }) => {
    if (cluster.kind !== "k3s" || !cluster.image) return skip("a node restart needs a node the suite owns: only on the embedded cluster");
    // A node of its own, so the other suites' cluster is never restarted under them.
    const node = await startEmbeddedCluster(`${cluster.runId}-node-restart`, cluster.image);
    try {
      const kube = connect(node.kubeconfig);
      await provideStandardStorageClass(kube);
      const namespace = await createNamespace(kube, "node-restart", cluster.runId);
      const setup = await DeployedSetup.deploy(kube, namespace, manifests);
      const { checksums: before } = await setup.loadDataset();

      const restart = await restartNodeAndMeasure(setup, node.restartNode!, before);
      record("node_started_s", restart.nodeStarted_s, "s");
      record("node_api_reachable_s", restart.apiReachable_s, "s");
      record("node_mysqld_ready_s", restart.mysqldReady_s, "s");
      record("node_restart_recovery_s", restart.firstVerifiedQuery_s, "s");
      if (restart.firstVerifiedQuery_s > budgetS) {
        note(`the design's recovery time (< ${budgetS} s) holds for pods; after a node restart MySQL served verified data in ${restart.firstVerifiedQuery_s} s (node back at ${restart.nodeStarted_s} s)`);
      }
    } finally {
      await node.stop();
    }
  });
});
