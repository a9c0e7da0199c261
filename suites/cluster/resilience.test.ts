import { joinPowerCutAgent } from "../../src/cluster/multi-node.ts";
import { lazyLayerUnavailable, nodeHasLazyLayers, type LazyLayer } from "../../src/cluster/power.ts";
import {
  deployForPowerCuts,
  inconclusiveCuts,
  powerCutAndMeasure,
  powerCutValues,
  seededRandom,
  storageWarnings,
  type PowerCutCycle,
  writerNodeBesides,
} from "../../src/conformance/power-cut.ts";
import { crashMysqldAndMeasure } from "../../src/conformance/crash.ts";
import { DeployedSetup } from "../../src/design/deployment.ts";
import { disruptionsOf, LedgerWriter, summarizeLedger } from "../../src/ledger/writer.ts";
import { timeouts } from "../../src/timeouts.ts";
import { describe, expect, recordSpread, recordValues, runSettings, test } from "../support/test.ts";

const budgetS = timeouts.recoveryBudgetMs / 1000;
/** Crashes in a row in the crash series (0 leaves the series out, as the gate does), and their interval. */
const { crashSeries, crashIntervalS, powerCuts } = runSettings().cycles;
/** lazyfs: the cut drops what was never synced; kill: the node killed alone (to compare). */
const mode = runSettings().powerCutMode;

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

  test(`keeps the dataset and every acknowledged write through ${powerCuts} power cut${powerCuts === 1 ? "" : "s"} of MySQL's node that drop every byte not yet synced, each recovered within ${budgetS} s`, async ({
    cluster,
    kube,
    namespace,
    manifests,
    record,
    note,
    reportLedger,
    skip,
  }) => {
    if (powerCuts === 0) return skip("SC_POWER_CUTS=0 leaves the power cuts out");
    if (cluster.kind !== "k3s" || !cluster.nodeContainerId || !cluster.image)
      return skip(
        "a power cut needs a node this run started and a storage layer that drops what was never synced: only on the embedded cluster " +
          "(on your own cluster, see docs for running the lazyfs layer under a StorageClass of yours)",
      );
    if (mode === "lazyfs" && !(await nodeHasLazyLayers(cluster.nodeContainerId)))
      return skip(
        `the cluster's node image (${cluster.image.image}) has no lazyfs layer to drop what was never synced; the offline node has it (SC_OFFLINE=1 builds and runs it)`,
      );
    // An agent of its own joins the run's cluster, tainted so no other check's pod lands there:
    // MySQL runs on it, the ledger writer on the server, which the cut never reaches.
    const agent = await joinPowerCutAgent(cluster, `power-cut-${cluster.runId.slice(-6)}`);
    try {
      if (mode === "lazyfs") {
        const unavailable = await lazyLayerUnavailable(agent.node.containerId);
        expect(unavailable, `node ${agent.node.name} can cut power through its lazy layer`).toBeUndefined();
      }
      const layer: LazyLayer = "lazyfs";
      const { setup, pod, fsType, storageClass } = await deployForPowerCuts(kube, namespace, manifests, agent.node, layer);
      record("power_cut_mode", mode, "");
      record("storage_class_used", storageClass, "");
      note(
        `the power cuts ran on StorageClass "${storageClass}" (the local-path provisioner's volumes on the node's lazyfs layer, which holds written data until it is fsynced and drops it at the cut), ` +
          `not the manifests' class: a cut of a disk that keeps the host's page cache proves nothing about unsynced data`,
      );
      record("data_dir_fs_type", fsType, "");
      if (mode === "lazyfs") expect(fsType, `${setup.dataDir} in pod ${pod} is on the lazy layer`).toBe("fuse.lazyfs");
      const { checksums } = await setup.loadDataset();
      const serverNode = await writerNodeBesides(kube, agent.node);
      const writer = await LedgerWriter.start(setup, `power-cut-${Date.now()}`, { ...runSettings().ledger, nodeName: serverNode });
      const seed = Date.now() % 2 ** 31;
      const random = seededRandom(seed);
      record("power_cut_seed", seed, "");
      const cycles: PowerCutCycle[] = [];
      try {
        for (let n = 1; n <= powerCuts; n++) {
          // Every other cut tears: a seeded random half of the unsynced blocks reaches the disk.
          const torn = n % 2 === 0 ? { seed: Math.floor(random() * 2 ** 31) } : undefined;
          const cycle = await powerCutAndMeasure(setup, agent.node, checksums, {
            layer,
            mode,
            armDelayMs: Math.round(random() * 1000),
            ...(torn ? { torn } : {}),
          });
          cycles.push(cycle);
          expect(cycle.dataDifferences, `the dataset is unchanged across power cut ${n} of node ${agent.node.name}`).toEqual([]);
          await writer.settle();
        }
      } finally {
        recordValues(record, powerCutValues(cycles));
        if (cycles.length) {
          recordSpread(
            record,
            "power_cut_recovery",
            cycles.map((c) => c.firstVerifiedQuery_s),
          );
          // The headline figure the reports set against the crash floor, as the node restart was.
          record("node_restart_recovery_s", cycles.map((c) => c.firstVerifiedQuery_s).sort((a, b) => a - b)[Math.floor((cycles.length - 1) / 2)]!, "s");
          record("node_started_s", cycles.map((c) => c.poweredOn_s).sort((a, b) => a - b)[Math.floor((cycles.length - 1) / 2)]!, "s");
        }
        const warnings = await storageWarnings(setup);
        if (warnings.length) note(`MySQL on the lazy layer logged: ${warnings.join(" | ")}`);
        const ledger = summarizeLedger(
          await writer.stopAndVerify(),
          disruptionsOf(
            "power cut",
            cycles.map((c) => c.atMs),
          ),
          { powerLoss: mode === "lazyfs" },
        );
        reportLedger(ledger);
        expect(ledger.violations, "acknowledged commits lost across the power cuts, or rows phantom, duplicated or corrupted").toBe("");
      }
      expect(inconclusiveCuts(cycles), "most power cuts dropped unsynced data of the database").toBeUndefined();
      const slowest = Math.max(...cycles.map((c) => c.firstVerifiedQuery_s));
      expect(
        slowest,
        `after a power cut MySQL served verified data ${slowest} s after it, over the ${budgetS} s budget ` +
          `(${cycles.map((c, i) => `cut ${i + 1}: powered on at ${c.poweredOn_s} s, mysqld ready at ${c.mysqldReady_s} s, verified at ${c.firstVerifiedQuery_s} s`).join("; ")})`,
      ).toBeLessThanOrEqual(budgetS);
    } finally {
      await agent.remove();
    }
  });
});
