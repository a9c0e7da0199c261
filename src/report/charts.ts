import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { phaseDurations } from "../recovery/milestones.ts";
import type { CheckResult, RunResults } from "./results.ts";

const phaseLabels: Record<string, string> = {
  oldPodGone_s: "old pod gone",
  newPodScheduled_s: "new pod scheduled",
  containerStarted_s: "volume mounted, container started",
  mysqldReady_s: "mysqld ready",
  firstVerifiedQuery_s: "first verified query",
};

/** Renders a Vega-Lite spec to SVG without a browser. */
export async function renderChart(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The recovery budget the run measured against, if a check recorded it. */
function recoveryBudget(results: RunResults): number | undefined {
  const value = results.checks.map((c) => c.values.recovery_budget_s?.value).find((v) => typeof v === "number");
  return value as number | undefined;
}

/** The budget as a dashed red rule across the chart, on the axis that carries seconds. */
function budgetRule(budget: number | undefined, axis: "x" | "y") {
  if (budget === undefined) return [];
  return [
    {
      data: { values: [{ budget }] },
      mark: { type: "rule" as const, color: "#c62828", strokeDash: [6, 4] },
      encoding: { [axis]: { field: "budget", type: "quantitative" as const } },
    },
  ];
}

/**
 * One row per numeric value named in `labels`, across all checks, in label
 * order per check. A check that names how it replaced the pod (value
 * `replacement`, e.g. "rollout restart") has it in its labels instead of "pod deleted".
 */
function labelledSeconds(results: RunResults, labels: Record<string, string>): { label: string; seconds: number }[] {
  return results.checks.flatMap((c) => {
    const how = c.values.replacement?.value;
    return Object.entries(labels).flatMap(([key, label]) =>
      typeof c.values[key]?.value === "number"
        ? [{ label: typeof how === "string" && how !== "pod deletion" ? label.replace("pod deleted", how) : label, seconds: c.values[key]!.value as number }]
        : [],
    );
  });
}

/** Per recovery cycle, how long each phase took (stacked), with the budget as a rule. */
export function recoverySpec(results: RunResults): TopLevelSpec | undefined {
  const rows: { cycle: string; phase: string; order: number; seconds: number }[] = [];
  for (const check of results.checks) {
    const cycles = new Map<string, Record<string, number>>();
    for (const [key, v] of Object.entries(check.values)) {
      const match = /^cycle(\d+)_(\w+_s)$/.exec(key);
      if (match && typeof v.value === "number") cycles.set(match[1]!, { ...cycles.get(match[1]!), [match[2]!]: v.value });
    }
    // Checks that replace the pod in different ways (deletion, rollout restart) name theirs.
    const how = typeof check.values.replacement?.value === "string" ? `${check.values.replacement.value} ` : "";
    for (const [cycle, phases] of cycles) {
      if (phases.firstVerifiedQuery_s === undefined) continue;
      phaseDurations(phases).forEach(({ phase, seconds }, order) => {
        rows.push({ cycle: `${how}#${cycle}`, phase: phaseLabels[phase]!, order, seconds });
      });
    }
  }
  if (rows.length === 0) return undefined;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Recovery after pod deletion, by phase (s)",
    width: 520,
    height: 220,
    layer: [
      {
        data: { values: rows },
        mark: "bar",
        encoding: {
          x: { field: "cycle", type: "ordinal", title: "cycle", sort: null },
          y: { field: "seconds", type: "quantitative", stack: "zero", title: "seconds since the delete" },
          color: {
            field: "phase",
            type: "nominal",
            sort: Object.values(phaseLabels),
            scale: { domain: Object.values(phaseLabels) },
            legend: { labelLimit: 320 },
          },
          order: { field: "order", type: "quantitative" },
          tooltip: [{ field: "phase" }, { field: "seconds" }],
        },
      },
      ...budgetRule(recoveryBudget(results), "y"),
    ],
  };
}

/** Backup and restore durations side by side. */
export function backupSpec(results: RunResults): TopLevelSpec | undefined {
  const labels: Record<string, string> = {
    backup_s: "mysqldump",
    restore_same_server_s: "restore, same server",
    restore_fresh_deployment_s: "restore, fresh Deployment",
  };
  const rows = labelledSeconds(results, labels);
  if (rows.length === 0) return undefined;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Backup and restore of ecomdb (s)",
    width: 520,
    height: 120,
    data: { values: rows },
    mark: "bar",
    encoding: {
      y: { field: "label", type: "nominal", sort: null, title: null, axis: { labelLimit: 320 } },
      x: { field: "seconds", type: "quantitative", title: "seconds" },
      tooltip: [{ field: "label", title: "step" }, { field: "seconds" }],
    },
  };
}

/** Time to verified data after each kind of disruption, against the budget. */
export function disruptionSpec(results: RunResults): TopLevelSpec | undefined {
  const labels: Record<string, string> = {
    recovery_p50_s: "pod deleted (p50)",
    recovery_max_s: "pod deleted (max)",
    crash_recovery_s: "mysqld killed (SIGKILL)",
    node_restart_recovery_s: "node power cut (p50)",
    recovery_floor_crash_s: "floor: mysqld SIGKILL, restarted in its container",
    recovery_floor_clean_s: "floor: clean restart in its container",
  };
  const rows = labelledSeconds(results, labels);
  if (rows.length < 2) return undefined;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Seconds from the disruption to the first verified query",
    width: 520,
    layer: [
      {
        data: { values: rows },
        mark: "bar",
        encoding: {
          y: { field: "label", type: "nominal", sort: null, title: null, axis: { labelLimit: 320 } },
          x: { field: "seconds", type: "quantitative", title: "seconds" },
          tooltip: [{ field: "label", title: "disruption" }, { field: "seconds" }],
        },
      },
      ...budgetRule(recoveryBudget(results), "x"),
    ],
  };
}

/**
 * Acknowledged commits per bin over one check's run, with each disruption
 * (red) and the first acknowledged commit after it (green) marked: the write
 * gap an application sees is the empty stretch between them.
 */
export function ackTimelineSpec(check: CheckResult): TopLevelSpec | undefined {
  const t = check.timeline;
  if (!t || t.acks.length === 0) return undefined;
  const perS = 1 / t.binS;
  const rows = t.acks.map((acks, i) => ({ s: +(i * t.binS).toFixed(2), rate: acks * perS }));
  const marks = t.marks.map((m) => ({ ...m, kind: m.label.startsWith("writes resume") ? "writes resume" : "disruption" }));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: `Acknowledged commits: ${check.name}`, limit: 640, fontSize: 12 },
    width: 640,
    height: 140,
    layer: [
      {
        data: { values: rows },
        mark: { type: "area", interpolate: "step-after", color: "#0969da", opacity: 0.6 },
        encoding: {
          x: { field: "s", type: "quantitative", title: "seconds since the writer's first commit" },
          y: { field: "rate", type: "quantitative", title: "commits/s" },
        },
      },
      {
        data: { values: marks },
        mark: { type: "rule", strokeDash: [4, 3] },
        encoding: {
          x: { field: "atS", type: "quantitative" },
          color: { field: "kind", type: "nominal", scale: { domain: ["disruption", "writes resume"], range: ["#c62828", "#2e7d32"] }, title: null },
          tooltip: [{ field: "label" }, { field: "atS", title: "s" }],
        },
      },
    ],
  };
}

/**
 * A disruption's milestones on one time axis (seconds from the disruption),
 * one row each in the order they happened, with the recovery budget marked.
 */
export function milestoneSpec(check: CheckResult): TopLevelSpec | undefined {
  const t = check.milestones;
  if (!t || t.milestones.length === 0) return undefined;
  const rows = t.milestones.map((m) => ({ label: m.name, atS: m.atS, detail: m.detail ?? "" }));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: `Timeline: ${t.disruption}`, limit: 640, fontSize: 12 },
    width: 520,
    layer: [
      {
        data: { values: rows },
        mark: { type: "point", filled: true, size: 60, color: "#0969da" },
        encoding: {
          y: { field: "label", type: "nominal", sort: null, title: null, axis: { labelLimit: 320 } },
          x: { field: "atS", type: "quantitative", title: "seconds since the disruption" },
          tooltip: [{ field: "label", title: "milestone" }, { field: "atS", title: "s" }, { field: "detail" }],
        },
      },
      ...(t.budgetS ? budgetRule(t.budgetS, "x") : []),
    ],
  };
}
