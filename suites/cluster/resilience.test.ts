import { startEmbeddedCluster } from "../../src/cluster/index.ts";
import { provideStandardStorageClass } from "../../src/conformance/cluster-setup.ts";
import { crashMysqldAndMeasure } from "../../src/conformance/crash.ts";
import { DeployedSetup } from "../../src/design/deployment.ts";
import { disruptionsOf, LedgerWriter, summarizeLedger } from "../../src/ledger/writer.ts";
import { restartNodeAndMeasure } from "../../src/conformance/node-restart.ts";
import { connect } from "../../src/kube/client.ts";
import { createNamespace } from "../../src/kube/namespace.ts";
import { timeouts } from "../../src/timeouts.ts";
import { inject } from "vitest";
import { describe, expect, runSettings, test } from "../support/test.ts";

const budgetS = timeouts.recoveryBudgetMs / 1000;
/** Crashes in a row in the crash series (0 leaves the series out, as the gate does), and their interval. */
const { crashSeries, crashIntervalS } = runSettings().cycles;

// Crash and node restart need the node itself: the embedded cluster's container.
// On a cluster from a kubeconfig the suite does not kill processes or nodes it does not own.
describe("the ecomdb dataset", () => {
  test(`keeps every acknowledged write through ${crashSeries || "a series of"} crashes of mysqld ${crashIntervalS} s apart, and shows how recovery grows with the kubelet's back-off`, async ({
    cluster,
    kube,
    namespace,
    manifests,
    record,
    note,
    reportLedger,
    skip,
  }) => {
    if (!cluster.nodeContainerId) return skip("a crash needs the node's process table: only on the embedded cluster");
    if (crashSeries < 2) return skip("SC_CRASH_SERIES is below 2 (the gate leaves the series to the nightly run)");
    const setup = await DeployedSetup.deploy(kube, namespace, manifests);
    const { checksums: before } = await setup.loadDataset();
    const writer = await LedgerWriter.start(setup, `crash-series-${Date.now()}`, runSettings().ledger);
    const moments: number[] = [];
    const recoveries: number[] = [];
    try {
      for (let crash = 1; crash <= crashSeries; crash++) {
        // Crashes at a fixed interval, never spaced out to stay within the budget: a crash
        // due while MySQL is still recovering comes as soon as it is back.
        const due = (moments[0] ?? Date.now()) + (crash - 1) * crashIntervalS * 1000;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        const result = await crashMysqldAndMeasure(setup, cluster.nodeContainerId, before, { onDisrupted: (t) => moments.push(t), crashLoopIsExpected: true });
        expect(result.dataDifferences, `the dataset is unchanged across ${result.across}`).toEqual([]);
        recoveries.push(result.firstVerifiedQuery_s);
        await writer.settle();
        record(`crash${crash}_recovery_s`, result.firstVerifiedQuery_s, "s");
      }
    } finally {
      const ledger = summarizeLedger(await writer.stopAndVerify(), disruptionsOf("mysqld SIGKILL", moments));
      reportLedger(ledger);
      expect(ledger.violations, "acknowledged commits lost across the crashes, or rows phantom, duplicated or corrupted").toBe("");
    }
    record("crash_interval_s", crashIntervalS, "s");
    const over = recoveries.map((s, i) => ({ crash: i + 1, s })).filter((r) => r.s > budgetS);
    if (over.length) {
      note(
        `the design's recovery time (< ${budgetS} s) does not hold when mysqld crashes repeatedly: with crashes ${crashIntervalS} s apart, recovery took ${recoveries.map((s) => `${s} s`).join(", ")}; ` +
          `crash ${over[0]!.crash} waited out the kubelet's restart back-off (10 s, doubling per crash up to 5 min, reset only after 10 min of running cleanly)`,
      );
    }
  });

  test(`survives a restart of the node (the node container killed and started again), recovered within ${budgetS} s`, async ({
    cluster,
    manifests,
    record,
    skip,
  }) => {
    if (cluster.kind !== "k3s" || !cluster.image) return skip("a node restart needs a node the suite owns: only on the embedded cluster");
    // A node of its own, so the other suites' cluster is never restarted under them.
    const node = await startEmbeddedCluster(`${cluster.runId}-node-restart`, cluster.image);
    try {
      const kube = connect(node.kubeconfig);
      await provideStandardStorageClass(kube);
      if (inject("runFacts").engine.image) await node.waitForAllImages?.();
      const namespace = await createNamespace(kube, "node-restart", cluster.runId);
      const setup = await DeployedSetup.deploy(kube, namespace, manifests);
      const { checksums: before } = await setup.loadDataset();

      const restart = await restartNodeAndMeasure(setup, node.restartNode!, before);
      expect(restart.dataDifferences, `the dataset is unchanged across ${restart.across}`).toEqual([]);
      record("node_started_s", restart.nodeStarted_s, "s");
      record("node_api_reachable_s", restart.apiReachable_s, "s");
      record("node_mysqld_ready_s", restart.mysqldReady_s, "s");
      record("node_restart_recovery_s", restart.firstVerifiedQuery_s, "s");
      // The design's recovery time, for a restart of the node MySQL runs on.
      expect(
        restart.firstVerifiedQuery_s,
        `after a node restart MySQL served verified data ${restart.firstVerifiedQuery_s} s after the power cut, over the ${budgetS} s budget ` +
          `(node back at ${restart.nodeStarted_s} s, API reachable at ${restart.apiReachable_s} s, mysqld ready at ${restart.mysqldReady_s} s)`,
      ).toBeLessThanOrEqual(budgetS);
    } finally {
      await node.stop();
    }
  });
});
