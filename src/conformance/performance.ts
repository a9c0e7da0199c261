import { PatchStrategy, type V1PersistentVolumeClaim, type V1Volume } from "@kubernetes/client-node";
import { projectImages } from "../cluster/project-images.ts";
import { withHelperPod } from "../kube/claim-pod.ts";
import { describeApiError } from "../kube/client.ts";
import { execInPod } from "../kube/exec.ts";
import { waitFor } from "../kube/wait.ts";
import { collectDiagnostics } from "../kube/diagnostics.ts";
import { checksumQueries, datasetTables, type TableChecksums } from "../mysql/dataset.ts";
import type { Database } from "../mysql/client.ts";
import type { DeployedSetup } from "../design/deployment.ts";
import { fioJobs, parseFioJson, type FioJobName, type FioResult } from "./fio.ts";
import { mysqlService } from "../ledger/writer.ts";
import { spread, type ProfileSettings } from "../run/perf-profile.ts";
import { counterDeltas, innodbCounters, parseSysbench, type SysbenchResult, type SysbenchWorkload } from "./sysbench.ts";
import { pollIntervals, timeouts } from "../timeouts.ts";
import { nameOf } from "../kube/names.ts";

/** The image with fio and sysbench: the project's (images/bench), or the one named (SC_BENCH_IMAGE) where the cluster cannot have it. */
export function benchImage(named: string | undefined): string {
  return named || projectImages().bench;
}

/**
 * What the claim is compared with: the node's own disk outside any volume
 * (a hostPath on the filesystem the provisioner keeps its volumes on; only on
 * a cluster this run started), or an emptyDir (any cluster).
 */
export type Baseline = { kind: "node-disk"; path: string } | { kind: "emptyDir" };

export function describeBaseline(baseline: Baseline): string {
  return baseline.kind === "node-disk" ? `the node's disk outside any volume (hostPath ${baseline.path})` : "an emptyDir on the node";
}

function baselineVolume(baseline: Baseline): V1Volume {
  return baseline.kind === "node-disk"
    ? { name: "baseline", hostPath: { path: baseline.path, type: "DirectoryOrCreate" } }
    : { name: "baseline", emptyDir: {} };
}

/**
 * A claim of the design's class, size and access modes (its data claim's
 * spec) under another name: what fio measures, beside MySQL's own.
 */
export function claimLikeDesign(setup: DeployedSetup, name: string): V1PersistentVolumeClaim {
  const design = setup.objects.find((o) => o.object.kind === "PersistentVolumeClaim" && o.object.metadata.name === setup.claimName);
  if (!design)
    throw new Error(
      `the manifests have no PersistentVolumeClaim ${setup.claimName} (the data claim of ${setup.workload.kind}/${setup.workload.name}) to copy the class, size and access modes from`,
    );
  const spec = design.object.spec as V1PersistentVolumeClaim["spec"];
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace: setup.namespace, labels: { "app.kubernetes.io/part-of": "storage-conformance-performance" } },
    spec: { storageClassName: spec?.storageClassName, accessModes: spec?.accessModes, resources: spec?.resources, volumeMode: spec?.volumeMode },
  };
}

/** Each fio job's results on the claim and on the baseline, one per repeat. */
export interface FioComparison {
  job: FioJobName;
  description: string;
  claim: FioResult[];
  baseline: FioResult[];
}

/**
 * fio's jobs on a claim like the design's and on the baseline, in one pod
 * (both mounted), `repeats` times. The targets alternate which goes first in
 * each repeat, so a drift of the machine does not always favour one of them.
 */
export async function measureFio(setup: DeployedSetup, baseline: Baseline, settings: ProfileSettings, image: string): Promise<FioComparison[]> {
  const { kube, namespace } = setup;
  const claim = claimLikeDesign(setup, "fio-claim");
  try {
    await kube.core.createNamespacedPersistentVolumeClaim({ namespace, body: claim });
  } catch (error) {
    throw new Error(`creating the claim fio measures (like ${setup.claimName}) failed: ${describeApiError(error)}`);
  }
  const pod = {
    purpose: "fio",
    container: {
      image,
      command: ["sleep", "infinity"],
      volumeMounts: [
        { name: "claim", mountPath: "/claim" },
        { name: "baseline", mountPath: "/baseline" },
      ],
    },
    volumes: [{ name: "claim", persistentVolumeClaim: { claimName: nameOf(claim) } }, baselineVolume(baseline)],
  };
  return withHelperPod(kube, namespace, pod, async (name) => {
    const target = { namespace, pod: name, container: "helper" };
    const comparisons: FioComparison[] = fioJobs("/", settings.fioRuntimeS).map((j) => ({ job: j.name, description: j.description, claim: [], baseline: [] }));
    try {
      for (let repeat = 0; repeat < settings.fioRepeats; repeat++) {
        const order = repeat % 2 === 0 ? (["claim", "baseline"] as const) : (["baseline", "claim"] as const);
        for (const where of order) {
          for (const job of fioJobs(`/${where}`, settings.fioRuntimeS)) {
            // Laying out the files takes a while the first time; the runtime is the rest.
            const ran = await execInPod(kube, target, ["fio", ...job.args], { timeoutMs: settings.fioRuntimeS * 1000 + timeouts.fioSetupMs });
            if (ran.exitCode !== 0)
              throw new Error(
                `fio job ${job.name} on ${where === "claim" ? `the claim ${claim.metadata!.name}` : describeBaseline(baseline)} exited ${ran.exitCode}: ${(ran.stderr || ran.stdout).trim().slice(0, 400)}`,
              );
            comparisons.find((c) => c.job === job.name)![where].push(parseFioJson(job.name, ran.stdout));
          }
        }
      }
    } finally {
      // The node-disk baseline outlives the pod: its files go now.
      await execInPod(kube, target, ["sh", "-c", "rm -f /baseline/sc-fio-* /claim/sc-fio-*"], { timeoutMs: timeouts.cleanupMs }).catch(() => undefined);
    }
    return comparisons;
  });
}

/** A measured figure on the claim and its baseline, as results.json values: the medians, their spread, the ratio. */
export function comparedValues(name: string, unit: string, claim: number[], baseline: number[]): Record<string, { value: number; unit: string }> {
  const c = spread(claim);
  const b = spread(baseline);
  const round = (n: number) => +n.toPrecision(4);
  return {
    [name]: { value: round(c.median), unit },
    [`${name}_min`]: { value: round(c.min), unit },
    [`${name}_max`]: { value: round(c.max), unit },
    [`${name}_baseline`]: { value: round(b.median), unit },
    [`${name}_baseline_min`]: { value: round(b.min), unit },
    [`${name}_baseline_max`]: { value: round(b.max), unit },
    [`${name}_ratio`]: { value: b.median === 0 ? NaN : +(c.median / b.median).toFixed(3), unit: "claim/baseline" },
  };
}

/** The values fio's comparisons give, with the names the reports and --expect use. */
export function fioValues(comparisons: FioComparison[]): Record<string, { value: number; unit: string }> {
  const of = (job: FioJobName) => comparisons.find((c) => c.job === job);
  const values: Record<string, { value: number; unit: string }> = {};
  const add = (job: FioJobName, name: string, unit: string, pick: (r: FioResult) => number) => {
    const c = of(job);
    if (c?.claim.length && c.baseline.length) Object.assign(values, comparedValues(name, unit, c.claim.map(pick), c.baseline.map(pick)));
  };
  add("randread", "fio_randread_iops", "IOPS", (r) => r.iops);
  add("randwrite", "fio_randwrite_iops", "IOPS", (r) => r.iops);
  add("seqwrite", "fio_seqwrite_mb_s", "MB/s", (r) => r.mbPerS);
  add("fsync", "fio_fsync_p99_ms", "ms", (r) => r.latP99Ms);
  add("fsync", "fio_fsync_p50_ms", "ms", (r) => r.latP50Ms);
  add("fsync", "fio_fsync_p999_ms", "ms", (r) => r.latP999Ms);
  return values;
}

/** sysbench's runs of one workload and what MySQL's counters moved by over them. */
export interface SysbenchMeasurement {
  workload: SysbenchWorkload;
  runs: SysbenchResult[];
  /** Sums over the runs: SHOW GLOBAL STATUS after minus before, per counter. */
  counters: Record<string, number>;
}

export const sysbenchTables = { tables: 2, tableSize: 10_000, threads: 4 };

/**
 * sysbench's oltp_write_only and oltp_read_write against the design's MySQL
 * through its Service, from a pod (as an application reaches it), each for
 * a fixed time, `repeats` times in turn; MySQL's counters around every run.
 * The password reaches sysbench from the design's Secret in the pod's
 * environment, never through the suite's command lines.
 */
export async function measureSysbench(setup: DeployedSetup, db: Database, settings: ProfileSettings, image: string): Promise<SysbenchMeasurement[]> {
  const { kube, namespace } = setup;
  const service = mysqlService(setup);
  await db.connection.query("CREATE DATABASE IF NOT EXISTS sbtest");
  const common = `--mysql-host=${service.name} --mysql-port=${service.port} --mysql-user=root --mysql-password="$SC_PASSWORD" --mysql-db=sbtest --tables=${sysbenchTables.tables} --table-size=${sysbenchTables.tableSize}`;
  const pod = {
    purpose: "sysbench",
    container: { image, command: ["sleep", "infinity"], env: [setup.rootPasswordEnv("SC_PASSWORD")] },
    volumes: [],
  };
  return withHelperPod(kube, namespace, pod, async (name) => {
    const target = { namespace, pod: name, container: "helper" };
    const sysbench = async (args: string, timeoutMs: number) => {
      const ran = await execInPod(kube, target, ["sh", "-c", `exec sysbench ${args}`], { timeoutMs });
      if (ran.exitCode !== 0)
        throw new Error(
          `sysbench ${args.split(" ")[0]} ${args.split(" ").at(-1)} against Service ${service.name} exited ${ran.exitCode}: ${`${ran.stdout}\n${ran.stderr}`.trim().split("\n").slice(-6).join(" | ")}`,
        );
      return ran.stdout;
    };
    await sysbench(`oltp_read_write ${common} prepare`, timeouts.sysbenchPrepareMs);
    const measurements: SysbenchMeasurement[] = (["oltp_write_only", "oltp_read_write"] as const).map((workload) => ({ workload, runs: [], counters: {} }));
    for (let repeat = 0; repeat < settings.sysbenchRepeats; repeat++) {
      for (const m of measurements) {
        const before = await globalStatus(db);
        const out = await sysbench(
          `${m.workload} ${common} --threads=${sysbenchTables.threads} --time=${settings.sysbenchTimeS} --percentile=95 run`,
          settings.sysbenchTimeS * 1000 + timeouts.sysbenchMarginMs,
        );
        const deltas = counterDeltas(before, await globalStatus(db), innodbCounters);
        m.runs.push(parseSysbench(m.workload, out));
        for (const [counter, delta] of Object.entries(deltas)) m.counters[counter] = (m.counters[counter] ?? 0) + delta;
      }
    }
    return measurements;
  });
}

async function globalStatus(db: Database): Promise<Record<string, number>> {
  const [rows] = await db.connection.query("SHOW GLOBAL STATUS");
  const status: Record<string, number> = {};
  for (const row of rows as { Variable_name: string; Value: string }[]) {
    const n = Number(row.Value);
    if (row.Value !== "" && Number.isFinite(n)) status[row.Variable_name] = n;
  }
  return status;
}

/** The values sysbench's measurements give: TPS and p95 per workload (write-only is `sysbench_*`), and where the time went per transaction. */
export function sysbenchValues(measurements: SysbenchMeasurement[]): Record<string, { value: number | string; unit: string }> {
  const values: Record<string, { value: number | string; unit: string }> = {};
  for (const m of measurements) {
    if (m.runs.length === 0) continue;
    const prefix = m.workload === "oltp_write_only" ? "sysbench" : "sysbench_read_write";
    const tps = spread(m.runs.map((r) => r.tps));
    const p95 = spread(m.runs.map((r) => r.p95Ms));
    values[`${prefix}_tps`] = { value: +tps.median.toFixed(1), unit: "tx/s" };
    values[`${prefix}_tps_min`] = { value: +tps.min.toFixed(1), unit: "tx/s" };
    values[`${prefix}_tps_max`] = { value: +tps.max.toFixed(1), unit: "tx/s" };
    values[`${prefix}_p95_ms`] = { value: +p95.median.toFixed(2), unit: "ms" };
    values[`${prefix}_p95_ms_min`] = { value: +p95.min.toFixed(2), unit: "ms" };
    values[`${prefix}_p95_ms_max`] = { value: +p95.max.toFixed(2), unit: "ms" };
    const transactions = m.runs.reduce((sum, r) => sum + r.transactions, 0);
    const per = (counter: string) => (m.counters[counter] === undefined || transactions === 0 ? undefined : m.counters[counter]! / transactions);
    const fsyncs = per("Innodb_data_fsyncs");
    const redo = per("Innodb_os_log_written");
    const diskReads = per("Innodb_buffer_pool_reads");
    const written = per("Innodb_data_written");
    if (fsyncs !== undefined) values[`${prefix}_fsyncs_per_tx`] = { value: +fsyncs.toFixed(2), unit: "fsyncs" };
    if (redo !== undefined) values[`${prefix}_redo_bytes_per_tx`] = { value: Math.round(redo), unit: "B" };
    if (written !== undefined) values[`${prefix}_data_written_bytes_per_tx`] = { value: Math.round(written), unit: "B" };
    if (diskReads !== undefined) values[`${prefix}_buffer_pool_disk_reads_per_tx`] = { value: +diskReads.toFixed(3), unit: "reads" };
    values[`${prefix}_errors`] = { value: m.runs.reduce((sum, r) => sum + r.errors, 0), unit: "errors" };
  }
  return values;
}

/** Seconds per restart of mysqld inside one container, with no Kubernetes in the way. */
export interface RecoveryFloor {
  crash_s: number[];
  clean_s: number[];
}

/**
 * The lines the floor script prints: `crash MS` and `clean MS` per restart
 * (milliseconds from the signal to the first verified query). Anything else
 * is ignored.
 */
export function parseFloorOutput(text: string): RecoveryFloor {
  const floor: RecoveryFloor = { crash_s: [], clean_s: [] };
  for (const line of text.split("\n")) {
    const m = /^(crash|clean) (\d+)$/.exec(line.trim());
    if (m) floor[m[1] === "crash" ? "crash_s" : "clean_s"].push(Number(m[2]) / 1000);
  }
  return floor;
}

/** The floor script's expected answer: the rows and checksum per dataset table, one line each, as the mysql client prints them. */
export function expectedChecksumLines(checksums: TableChecksums): string {
  return datasetTables.map((t) => `${checksums[t]?.rows ?? "missing"}\t${checksums[t]?.checksum ?? "missing"}`).join("\n");
}

/**
 * The shell that measures the floor inside a container of the database's own
 * image, on the design's claim: the image's entrypoint starts mysqld as the
 * container would; each restart is timed from the signal (SIGKILL for a
 * crash, SIGTERM for a clean shutdown) to the first answer of the checksum
 * queries equal to `expected`. Polls every 20 ms; each restart has a deadline.
 */
export function floorScript(options: { query: string; expected: string; repeats: number; mysqldArgs: string[]; deadlineS: number }): string {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return `set -u
QUERY=${quote(options.query)}
EXPECTED=${quote(options.expected)}
now() { date +%s%N; }
answer() { mysql -uroot --password="$SC_PASSWORD" -N -B -e "$QUERY" 2>/dev/null; }
start() { docker-entrypoint.sh mysqld ${options.mysqldArgs.map(quote).join(" ")} >>/tmp/floor-mysqld.log 2>&1 & PID=$!; }
verified() {
  deadline=$(( $(date +%s) + ${options.deadlineS} ))
  while [ "$(answer)" != "$EXPECTED" ]; do
    if [ "$(date +%s)" -gt "$deadline" ]; then
      echo "no verified answer within ${options.deadlineS} s; last answer: $(answer | tr '\\n' ' ')"; tail -n 15 /tmp/floor-mysqld.log; exit 1
    fi
    sleep 0.02
  done
}
start; verified
i=0
while [ "$i" -lt ${options.repeats} ]; do
  t0=$(now); kill -KILL "$PID"; wait "$PID" 2>/dev/null; start; verified; echo "crash $(( ($(now) - t0) / 1000000 ))"
  t0=$(now); kill -TERM "$PID"; wait "$PID" 2>/dev/null; start; verified; echo "clean $(( ($(now) - t0) / 1000000 ))"
  i=$((i + 1))
done
kill -TERM "$PID"; wait "$PID" 2>/dev/null
true`;
}

/**
 * The recovery floor: how long mysqld alone takes to come back on the
 * design's claim with the same dataset, restarted inside one container with
 * no kubelet, scheduler or probe. The Deployment is scaled to zero first (one
 * mysqld per data directory), so this runs after everything else on `setup`.
 */
export async function measureRecoveryFloor(setup: DeployedSetup, db: Database, checksums: TableChecksums, repeats: number): Promise<RecoveryFloor> {
  const { kube, namespace, workload } = setup;
  const queries = await checksumQueries(db.connection);
  const query = datasetTables
    .map((t) => queries[t])
    .filter(Boolean)
    .join(" UNION ALL ");
  await db.close();
  try {
    const scale = { apiVersion: "apps/v1", kind: workload.kind, metadata: { name: workload.name, namespace }, spec: { replicas: 0 } };
    await kube.objects.patch(scale, undefined, undefined, undefined, undefined, PatchStrategy.StrategicMergePatch);
  } catch (error) {
    throw new Error(`scaling ${workload.kind}/${workload.name} to zero for the floor measurement failed: ${describeApiError(error)}`);
  }
  await waitFor(
    () => kube.core.listNamespacedPod({ namespace, labelSelector: setup.selector }),
    (pods) => pods.items.length === 0,
    {
      what: `${workload.kind}/${workload.name}'s pods to be gone (scaled to zero for the floor measurement)`,
      signal: kube.signal,
      timeoutMs: timeouts.podDeletedMs,
      intervalMs: pollIntervals.podMs,
      describe: (pods) => `pods: ${pods.items.map((p) => `${p.metadata!.name} (${p.status?.phase})`).join(", ")}`,
      diagnose: async () => (await collectDiagnostics(kube, namespace)).summary,
    },
  );
  const deadlineS = Math.round(timeouts.mysqlReadyMs / 1000);
  const pod = {
    purpose: "floor",
    container: {
      image: workload.container.image!,
      command: ["sleep", "infinity"],
      env: [setup.rootPasswordEnv("SC_PASSWORD"), setup.rootPasswordEnv("MYSQL_ROOT_PASSWORD")],
      volumeMounts: [{ name: "data", mountPath: setup.dataDir }],
    },
    volumes: [{ name: "data", persistentVolumeClaim: { claimName: setup.claimName } }],
  };
  return withHelperPod(kube, namespace, pod, async (name) => {
    const script = floorScript({ query, expected: expectedChecksumLines(checksums), repeats, mysqldArgs: workload.container.args ?? [], deadlineS });
    const ran = await execInPod(kube, { namespace, pod: name, container: "helper" }, ["sh", "-c", script], {
      timeoutMs: (repeats * 2 + 1) * (deadlineS + 30) * 1000,
    });
    const floor = parseFloorOutput(ran.stdout);
    if (ran.exitCode !== 0 || floor.crash_s.length !== repeats || floor.clean_s.length !== repeats) {
      throw new Error(
        `measuring the recovery floor in pod ${name} (mysqld restarted in one container on claim ${setup.claimName}) failed, exit ${ran.exitCode}, ${floor.crash_s.length} crash and ${floor.clean_s.length} clean restarts of ${repeats} measured: ${`${ran.stdout}\n${ran.stderr}`.trim().split("\n").slice(-12).join(" | ")}`,
      );
    }
    return floor;
  });
}
