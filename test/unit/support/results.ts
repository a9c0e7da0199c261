// A run's results for the report tests: one minute on 2026-11-25, the design's
// manifests, no cluster; `fields` overrides any of it.
import { type CheckResult, type RunResults, summarise } from "../../../src/report/results.ts";

export function runOf(checks: CheckResult[], fields: Partial<Omit<RunResults, "checks" | "summary">> = {}): RunResults {
  return {
    runId: "r",
    startedAt: "2026-11-25T00:00:00.000Z",
    finishedAt: "2026-11-25T00:01:00.000Z",
    durationS: 60,
    manifestsDir: "manifests",
    timeoutOverrides: [],
    ...fields,
    summary: summarise(checks),
    checks,
  };
}
