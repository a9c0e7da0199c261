// The performance suite's figures as the reports show them: each fio figure
// on the claim against its baseline, and each recovery against its floor
// (mysqld restarted inside one container, no Kubernetes). Pure.
import type { TopLevelSpec } from "vega-lite";
import { phaseNames } from "../recovery/milestones.ts";
import type { CheckResult, RunResults, Value } from "./results.ts";

/** The fio figures compared with their baseline, in the order the reports show them. */
export const fioFigures: { name: string; label: string; better: "higher" | "lower" }[] = [
  { name: "fio_randread_iops", label: "4K random read (IOPS)", better: "higher" },
  { name: "fio_randwrite_iops", label: "4K random write (IOPS)", better: "higher" },
  { name: "fio_seqwrite_mb_s", label: "1M sequential write (MB/s)", better: "higher" },
  { name: "fio_fsync_p50_ms", label: "16K write + fdatasync, p50 (ms)", better: "lower" },
  { name: "fio_fsync_p99_ms", label: "16K write + fdatasync, p99 (ms)", better: "lower" },
  { name: "fio_fsync_p999_ms", label: "16K write + fdatasync, p99.9 (ms)", better: "lower" },
];

const num = (v: Value | undefined) => (typeof v?.value === "number" && Number.isFinite(v.value) ? v.value : undefined);

/** One row per fio figure a check recorded: median, min and max on the claim and the baseline, and the ratio. */
export function fioRows(results: RunResults): { label: string; claim: number[]; baseline: number[]; ratio?: number; better: string }[] {
  const check = results.checks.find((c) => num(c.values.fio_fsync_p99_ms) !== undefined || num(c.values.fio_randread_iops) !== undefined);
  if (!check) return [];
  return fioFigures.flatMap(({ name, label, better }) => {
    const v = (suffix: string) => num(check.values[`${name}${suffix}`]);
    const claim = [v(""), v("_min"), v("_max")];
    const baseline = [v("_baseline"), v("_baseline_min"), v("_baseline_max")];
    if (claim.some((n) => n === undefined) || baseline.some((n) => n === undefined)) return [];
    return [{ label, claim: claim as number[], baseline: baseline as number[], ratio: v("_ratio"), better }];
  });
}

/** Claim against baseline per fio figure: bars at the median, a rule from min to max; one panel per figure (their units differ). */
export function fioSpec(results: RunResults): TopLevelSpec | undefined {
  const rows = fioRows(results).flatMap((r) => [
    { figure: r.label, target: "claim", median: r.claim[0], min: r.claim[1], max: r.claim[2] },
    { figure: r.label, target: "baseline", median: r.baseline[0], min: r.baseline[1], max: r.baseline[2] },
  ]);
  if (rows.length === 0) return undefined;
  const baseline = results.checks.map((c) => c.values.fio_baseline?.value).find((v) => typeof v === "string");
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: "fio on a claim like the design's against the baseline", subtitle: `median of the repeats, line: min to max; baseline: ${baseline ?? "?"}` },
    data: { values: rows },
    facet: { row: { field: "figure", type: "nominal", sort: null, title: null, header: { labelAngle: 0, labelAlign: "left", labelLimit: 260 } } },
    resolve: { scale: { x: "independent" } },
    spec: {
      width: 360,
      height: 40,
      layer: [
        {
          mark: "bar",
          encoding: {
            y: { field: "target", type: "nominal", title: null },
            x: { field: "median", type: "quantitative", title: null },
            color: { field: "target", type: "nominal", legend: null, scale: { domain: ["claim", "baseline"], range: ["#0969da", "#8c959f"] } },
            tooltip: [{ field: "target" }, { field: "median" }, { field: "min" }, { field: "max" }],
          },
        },
        {
          mark: { type: "rule", color: "#1b1f24" },
          encoding: { y: { field: "target", type: "nominal" }, x: { field: "min", type: "quantitative" }, x2: { field: "max" } },
        },
      ],
    },
  } as TopLevelSpec;
}

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The median of each recovery phase over a check's cycles (`cycleN_<phase>` values). */
function medianPhases(check: CheckResult): Partial<Record<(typeof phaseNames)[number], number>> {
  const phases: Partial<Record<(typeof phaseNames)[number], number>> = {};
  for (const phase of phaseNames) {
    const values = Object.entries(check.values)
      .filter(([k]) => new RegExp(`^cycle\\d+_${phase}$`).test(k))
      .map(([, v]) => num(v))
      .filter((n): n is number => n !== undefined);
    if (values.length) phases[phase] = median(values);
  }
  return phases;
}

const s = (n: number) => `${n.toFixed(2)} s`;

/**
 * Each disruption's recovery against the floor, as values for the floor's
 * check (`*_floor_ratio`), and in words: what fills the difference, from the
 * milestones the disruption checks measured. Undefined without a floor.
 */
export function floorComparison(checks: CheckResult[]): { values: Record<string, Value>; notes: string[] } | undefined {
  const floorCheck = checks.find((c) => num(c.values.recovery_floor_crash_s) !== undefined);
  if (!floorCheck) return undefined;
  const crashFloor = num(floorCheck.values.recovery_floor_crash_s)!;
  const cleanFloor = num(floorCheck.values.recovery_floor_clean_s);
  const values: Record<string, Value> = {};
  const notes: string[] = [];
  const find = (name: string) => checks.find((c) => c.status === "passed" && num(c.values[name]) !== undefined);

  const crash = find("crash_recovery_s");
  if (crash) {
    const total = num(crash.values.crash_recovery_s)!;
    const restarted = num(crash.values.crash_container_restarted_s);
    const ready = num(crash.values.crash_mysqld_ready_s);
    values.crash_recovery_floor_ratio = { value: +(total / crashFloor).toFixed(2), unit: "×" };
    notes.push(
      `mysqld killed (SIGKILL) under Kubernetes: ${s(total)} to a verified query, ${(total / crashFloor).toFixed(1)}× the floor of ${s(crashFloor)} (the same crash restarted inside its container). ` +
        (restarted !== undefined && ready !== undefined
          ? `The kubelet noticed the death and restarted the container at ${s(restarted)} (restart detection, and the back-off after earlier crashes); the readiness probe passed at ${s(ready)} (mysqld's recovery, then the probe's period); the first verified query through a new connection came ${s(total - ready)} later.`
          : ""),
    );
  }
  const deletion = checks.find(
    (c) => c.status === "passed" && num(c.values.recovery_p50_s) !== undefined && (c.values.replacement?.value ?? "pod deletion") === "pod deletion",
  );
  if (deletion && cleanFloor !== undefined) {
    const p50 = num(deletion.values.recovery_p50_s)!;
    const phases = medianPhases(deletion);
    values.recovery_p50_floor_ratio = { value: +(p50 / cleanFloor).toFixed(2), unit: "×" };
    const at = (phase: (typeof phaseNames)[number], label: string) => (phases[phase] !== undefined ? [`${label} at ${s(phases[phase]!)}`] : []);
    notes.push(
      `pod deleted: ${s(p50)} (p50) to a verified query, ${(p50 / cleanFloor).toFixed(1)}× the floor of ${s(cleanFloor)} (a clean shutdown and start inside one container). ` +
        `Median milestones: ${[...at("newPodScheduled_s", "replacement scheduled"), ...at("containerStarted_s", "its volume mounted and container running"), ...at("oldPodGone_s", "old pod gone (its mysqld shut down)"), ...at("mysqldReady_s", "readiness probe passed")].join(", ")}; ` +
        `the difference is the old mysqld's shutdown under the grace period, the replacement's scheduling and volume mount, the probe's period and the first connection.`,
    );
  }
  const node = find("node_restart_recovery_s");
  if (node) {
    const total = num(node.values.node_restart_recovery_s)!;
    const started = num(node.values.node_started_s);
    const api = num(node.values.node_api_reachable_s);
    values.node_restart_floor_ratio = { value: +(total / crashFloor).toFixed(2), unit: "×" };
    notes.push(
      `node power cut (unsynced data dropped, p50): ${s(total)} to a verified query, ${(total / crashFloor).toFixed(1)}× mysqld's crash floor of ${s(crashFloor)}` +
        (started !== undefined && api !== undefined
          ? `; the node itself took ${s(started)} to start and its API answered at ${s(api)}, the rest is the kubelet starting the pod again and mysqld's recovery.`
          : started !== undefined
            ? `; the node's container was running again at ${s(started)}, the rest is the node's kubelet starting the pod again and mysqld's recovery.`
            : "."),
    );
  }
  return { values, notes };
}

/** Sets each recovery of `checks` against the floor, on the floor's check (values and notes, each note once). */
export function applyFloor(checks: CheckResult[]): void {
  const floor = floorComparison(checks);
  const floorCheck = checks.find((c) => c.values.recovery_floor_crash_s !== undefined);
  if (!floor || !floorCheck) return;
  Object.assign(floorCheck.values, floor.values);
  floorCheck.notes = [...new Set([...(floorCheck.notes ?? []), ...floor.notes])];
}
