/**
 * The static findings as checks of the results model. Here, not in
 * manifests/ or report/: the CLI is where both meet (manifests/ knows nothing
 * of reports, report/ nothing of what produced the results).
 */
import { rules, type Finding } from "../manifests/rules.ts";
import { formatFinding } from "../manifests/static-check.ts";
import type { CheckResult } from "../report/results.ts";

/** One check per rule (and one for the schema) for results.json: failed when it found an error. */
export function findingsAsChecks(findings: Finding[]): CheckResult[] {
  const ids = ["schema", ...rules.map((r) => r.id)];
  return ids.map((id) => {
    const mine = findings.filter((f) => f.rule === id);
    const errors = mine.filter((f) => f.severity === "error");
    return {
      suite: "static",
      name: `manifests › ${id}`,
      status: errors.length ? "failed" : "passed",
      values: Object.fromEntries(
        (["error", "warning", "info"] as const).map((s) => [`${s}s`, { value: mine.filter((f) => f.severity === s).length, unit: "findings" }]),
      ),
      message: mine.map((f) => `${formatFinding(f)}\n  fix: ${f.fix}`).join("\n"),
      durationMs: 0,
    };
  });
}
