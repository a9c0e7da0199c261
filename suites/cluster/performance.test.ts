import { cpus, loadavg } from "node:os";
import { waitForNodeFile } from "../../src/cluster/node.ts";
import { DeployedSetup } from "../../src/design/deployment.ts";
import { durabilityRisks } from "../../src/ledger/durability.ts";
import { evaluateExpectations, measuredBy } from "../../src/run/expectations.ts";
import {
  benchImage,
  describeBaseline,
  fioValues,
  measureFio,
  measureRecoveryFloor,
  measureSysbench,
  sysbenchTables,
  sysbenchValues,
  type Baseline,
} from "../../src/conformance/performance.ts";
import { perfProfiles, spread } from "../../src/run/perf-profile.ts";
import { mysqlService } from "../../src/ledger/writer.ts";
import { readDurabilitySettings } from "../../src/ledger/table.ts";
import type { ClusterInfo } from "../../src/cluster/index.ts";
import { describe, expect, otherChecksOf, type Record_, recordValues, runSettings, test } from "../support/test.ts";

/**
 * How fast the design's storage is: fio on a claim of the design's class,
 * size and access mode against a baseline in the same run, sysbench on the
 * design's MySQL through its Service with MySQL's own counters, and the
 * recovery floor (mysqld restarted inside one container, no Kubernetes).
 * Without --expect it reports; each --expect 'NAME<=N' is a check.
 * SC_PERF_PROFILE=short (the gate's, default) or long (the nightly's).
 */

const { perfProfile: profile, benchImage: namedBenchImage } = runSettings();
const settings = perfProfiles[profile];
const image = benchImage(namedBenchImage);
const expectations = runSettings().expectations;

function machine(record: Record_, when: "before" | "after"): void {
  if (when === "before") record("machine_cores", cpus().length, "cores");
  record(`machine_load_1m_${when}`, +loadavg()[0]!.toFixed(2), "");
}

/** The offline node imports the bench image after it is Ready (like the second engine): wait for it. */
async function benchImageImported(cluster: ClusterInfo): Promise<void> {
  if (cluster.kind === "k3s" && cluster.image?.source === "offline" && cluster.nodeContainerId && !namedBenchImage) {
    await waitForNodeFile(cluster.nodeContainerId, "/run/kubenode/all-images-imported", `the offline node to import its deferred images (${image})`);
  }
}

describe("performance", () => {
  test("fio on a claim like the design's against a baseline: random 4K IOPS, sequential 1M throughput, 16K writes with fdatasync (the redo log's pattern)", async ({
    cluster,
    kube,
    namespace,
    manifests,
    record,
    note,
  }) => {
    await benchImageImported(cluster);
    const setup = DeployedSetup.attach(kube, namespace, manifests);
    const baseline: Baseline =
      cluster.kind === "k3s" ? { kind: "node-disk", path: `/var/lib/rancher/k3s/sc-perf-baseline-${cluster.runId}` } : { kind: "emptyDir" };
    record("perf_profile", profile, "");
    record("fio_runtime_s", settings.fioRuntimeS, "s");
    record("fio_repeats", settings.fioRepeats, "repeats");
    record("fio_baseline", describeBaseline(baseline), "");
    machine(record, "before");
    const started = performance.now();
    const comparisons = await measureFio(setup, baseline, settings, image);
    record("fio_seconds", +((performance.now() - started) / 1000).toFixed(1), "s");
    machine(record, "after");
    const values = fioValues(comparisons);
    recordValues(record, values);
    for (const name of ["fio_randread_iops", "fio_randwrite_iops", "fio_seqwrite_mb_s", "fio_fsync_p99_ms"]) {
      expect(values[name]?.value, `fio gave no ${name} (see the check's values; fio's JSON is parsed by src/conformance/fio.ts)`).toBeGreaterThan(0);
      expect(values[`${name}_baseline`]?.value, `fio gave no ${name}_baseline on ${describeBaseline(baseline)}`).toBeGreaterThan(0);
    }
    const fsync = values.fio_fsync_p99_ms!.value;
    const ratio = values.fio_fsync_p99_ms_ratio!.value;
    note(
      `the design recommends "SSD Storage Classes: better performance for database workloads"; on this cluster's class a 16 KiB write with fdatasync (InnoDB's redo pattern) takes ${fsync} ms at p99 ` +
        `(${ratio}× ${describeBaseline(baseline)}); each commit of MySQL waits for at least one`,
    );
  });

  test("sysbench on the design's MySQL through its Service, MySQL's own counters over it, and the recovery floor (mysqld restarted in one container)", async ({
    deployFresh,
    cluster,
    namespace,
    record,
    note,
  }) => {
    await benchImageImported(cluster);
    const setup = await deployFresh(namespace);
    const { checksums } = await setup.loadDataset();
    const db = await setup.open();
    let closed = false;
    try {
      const durability = await readDurabilitySettings(db.connection);
      for (const [name, value] of Object.entries(durability)) record(`durability_${name}`, value, "");
      for (const risk of durabilityRisks(durability))
        note(`sysbench ran with ${risk.setting}=${risk.value}: ${risk.risk}; its figures are not those of a durable MySQL`);
      record("perf_profile", profile, "");
      record("sysbench_time_s", settings.sysbenchTimeS, "s");
      record("sysbench_repeats", settings.sysbenchRepeats, "repeats");
      record(
        "sysbench_shape",
        `${sysbenchTables.tables} tables × ${sysbenchTables.tableSize} rows, ${sysbenchTables.threads} threads, through Service ${mysqlService(setup).name}`,
        "",
      );
      machine(record, "before");
      const measurements = await measureSysbench(setup, db, settings, image);
      machine(record, "after");
      const values = sysbenchValues(measurements);
      recordValues(record, values);
      for (const m of measurements) for (const [counter, delta] of Object.entries(m.counters)) record(`${m.workload}_${counter}`, delta, "");
      expect(values.sysbench_tps?.value, "sysbench oltp_write_only measured no transactions per second").toBeGreaterThan(0);
      expect(values.sysbench_read_write_tps?.value, "sysbench oltp_read_write measured no transactions per second").toBeGreaterThan(0);

      closed = true; // the floor closes the connection before it scales MySQL down
      const floor = await measureRecoveryFloor(setup, db, checksums, settings.floorRepeats);
      const crash = spread(floor.crash_s);
      const clean = spread(floor.clean_s);
      record("recovery_floor_crash_s", +crash.median.toFixed(3), "s");
      record("recovery_floor_crash_min_s", +crash.min.toFixed(3), "s");
      record("recovery_floor_crash_max_s", +crash.max.toFixed(3), "s");
      record("recovery_floor_clean_s", +clean.median.toFixed(3), "s");
      record("recovery_floor_clean_min_s", +clean.min.toFixed(3), "s");
      record("recovery_floor_clean_max_s", +clean.max.toFixed(3), "s");
      record("recovery_floor_repeats", settings.floorRepeats, "repeats");
    } finally {
      if (!closed) await db.close();
    }
  });

  test("the run's --expect thresholds hold on the measured values", async ({ record, skip, task }) => {
    if (expectations.length === 0) return skip("no --expect given: the suite reports its figures and judges none (e.g. --expect 'fio_fsync_p99_ms<=10')");
    // The values the fio and sysbench checks recorded on themselves, whatever ran before this check.
    // (server_version is the fixture's, on every check that talked to MySQL: not a measurement.)
    const { values: measuredWithVersion, unfinished } = measuredBy(otherChecksOf(task));
    const { server_version: _version, ...measured } = measuredWithVersion;
    expect(unfinished, "checks of this file not finished when the thresholds are judged (they are judged after the checks that measure)").toEqual([]);
    const verdicts = evaluateExpectations(expectations, measured);
    for (const [i, v] of verdicts.entries()) record(`expect_${i + 1}`, v.message, "");
    const missed = verdicts.filter((v) => !v.ok);
    expect(
      missed.map((v) => v.message),
      `${missed.length} of ${verdicts.length} expectations missed (the values are in the fio and sysbench checks of this suite)`,
    ).toEqual([]);
  });
});
