/**
 * The numbers the performance suite records, by name: what `--expect
 * 'NAME<=N'` can judge. The run checks each expectation's name against this
 * list before anything starts (a typo is one line, not a failed check after
 * a seven-minute run); test/unit/performance.test.ts checks that fioValues
 * and sysbenchValues produce no name missing here.
 */

/** fio's figures (fioValues), each on the claim with its spread, on the baseline, and their ratio (comparedValues). */
const fioFigures = ["fio_randread_iops", "fio_randwrite_iops", "fio_seqwrite_mb_s", "fio_fsync_p99_ms", "fio_fsync_p50_ms", "fio_fsync_p999_ms"];
const comparedSuffixes = ["", "_min", "_max", "_baseline", "_baseline_min", "_baseline_max", "_ratio"];

/** sysbench's figures per workload (sysbenchValues): write-only is `sysbench_*`, read-write `sysbench_read_write_*`. */
const sysbenchPrefixes = ["sysbench", "sysbench_read_write"];
const sysbenchSuffixes = [
  "_tps",
  "_tps_min",
  "_tps_max",
  "_p95_ms",
  "_p95_ms_min",
  "_p95_ms_max",
  "_fsyncs_per_tx",
  "_redo_bytes_per_tx",
  "_data_written_bytes_per_tx",
  "_buffer_pool_disk_reads_per_tx",
  "_errors",
];

/** What the suite's spec records itself (suites/cluster/performance.test.ts): the recovery floor, the profile's sizes, the machine. */
const recordedBySpec = [
  "recovery_floor_crash_s",
  "recovery_floor_crash_min_s",
  "recovery_floor_crash_max_s",
  "recovery_floor_clean_s",
  "recovery_floor_clean_min_s",
  "recovery_floor_clean_max_s",
  "recovery_floor_repeats",
  "fio_runtime_s",
  "fio_repeats",
  "fio_seconds",
  "sysbench_time_s",
  "sysbench_repeats",
  "machine_cores",
  "machine_load_1m_before",
  "machine_load_1m_after",
];

export const performanceValueNames: readonly string[] = [
  ...fioFigures.flatMap((f) => comparedSuffixes.map((s) => `${f}${s}`)),
  ...sysbenchPrefixes.flatMap((p) => sysbenchSuffixes.map((s) => `${p}${s}`)),
  ...recordedBySpec,
];

/** The known name closest to `name` (by edit distance), when one is close enough to be a typo of it. */
export function closestValueName(name: string, known: readonly string[] = performanceValueNames): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(name.length / 4)) ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}
