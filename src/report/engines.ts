import { esc } from "./html.ts";
import { cell } from "./markdown.ts";
import type { CheckResult, CheckStatus, RunResults, Value } from "./results.ts";

/** One engine's run of the conformance suites (results absent when the run wrote none). */
export interface EngineRun {
  engine: string;
  results?: RunResults;
}

/** A row of the side-by-side table: one measured value (or a check's status) per engine. */
export interface ComparisonRow {
  suite: string;
  check: string;
  /** The value's name; "status" for the check's verdict. */
  value: string;
  byEngine: Record<string, string>;
}

const shown = (v: Value | undefined) => (v === undefined ? "—" : `${v.value}${v.unit ? ` ${v.unit}` : ""}`);
const statusWord: Record<CheckStatus, string> = { passed: "passed", failed: "FAILED", skipped: "skipped" };

/**
 * Every check of every engine's run, with its status and each measured value
 * in a column per engine, in the order the checks ran. A check or value one
 * engine lacks shows "—" there.
 */
export function compareEngines(runs: EngineRun[]): ComparisonRow[] {
  const rows = new Map<string, ComparisonRow>();
  const key = (c: CheckResult, value: string) => `${c.suite}\u0000${c.name}\u0000${value}`;
  const row = (c: CheckResult, value: string) => {
    const k = key(c, value);
    if (!rows.has(k)) rows.set(k, { suite: c.suite, check: c.name, value, byEngine: Object.fromEntries(runs.map((r) => [r.engine, "—"])) });
    return rows.get(k)!;
  };
  for (const run of runs) {
    for (const check of run.results?.checks ?? []) {
      if (check.suite === "static") continue; // the same manifests, the same findings
      row(check, "status").byEngine[run.engine] = statusWord[check.status];
      for (const [name, value] of Object.entries(check.values)) row(check, name).byEngine[run.engine] = shown(value);
    }
  }
  return [...rows.values()];
}

/** One line per engine: its verdict and the server that answered. */
export function engineHeadlines(runs: EngineRun[]): string[] {
  return runs.map((run) => {
    if (!run.results) return `${run.engine}: no results (the run did not write any; see its output above)`;
    const { passed, failed, skipped } = run.results.summary;
    const servers = run.results.engine?.serverVersions.join(", ") || "no server answered";
    return `${run.engine}: ${failed ? `${failed} failed` : "all passed"} (${passed} passed, ${failed} failed, ${skipped} skipped); server ${servers}; reports ${run.results.runId}/`;
  });
}

export function renderEngineMarkdown(runId: string, runs: EngineRun[]): string {
  const engines = runs.map((r) => r.engine);
  const failed = runs.some((r) => !r.results || r.results.summary.failed > 0);
  const lines = [
    `## Storage conformance on ${engines.join(" and ")}: ${failed ? "❌ failures" : "✅ all passed"}`,
    "",
    `Run \`${runId}\`, the same manifests on each engine (only the database container's image differs).`,
    "",
    ...engineHeadlines(runs).map((l) => `- ${l}`),
    "",
    `| suite | check | value | ${engines.join(" | ")} |`,
    `|---|---|---|${engines.map(() => "---").join("|")}|`,
    // The check's name on its status row only: the value rows below it are its own.
    ...compareEngines(runs).map(
      (r) =>
        `| ${r.value === "status" ? r.suite : ""} | ${r.value === "status" ? cell(r.check) : ""} | ${r.value} | ${engines.map((e) => cell(r.byEngine[e]!)).join(" | ")} |`,
    ),
  ];
  return `${lines.join("\n")}\n`;
}

export function renderEngineHtml(runId: string, runs: EngineRun[]): string {
  const engines = runs.map((r) => r.engine);
  const rows = compareEngines(runs);
  const failed = runs.some((r) => !r.results || r.results.summary.failed > 0);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Storage conformance by engine ${esc(runId)}</title><style>
body{font:15px/1.5 system-ui,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#1b1f24}
.banner{padding:.75rem 1rem;border-radius:6px;font-weight:600}.ok{background:#dafbe1;color:#116329}.bad{background:#ffebe9;color:#a40e26}
table{border-collapse:collapse;width:100%;font-size:14px} th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eaeef2;vertical-align:top}
tr.status td{font-weight:600;border-top:2px solid #d0d7de}.FAILED{color:#a40e26}
</style></head><body>
<h1>Storage conformance by engine</h1>
<p class="banner ${failed ? "bad" : "ok"}">${failed ? "Failures on at least one engine" : "Every check passed on every engine"}</p>
<ul>${engineHeadlines(runs)
    .map((l) => `<li>${esc(l)}</li>`)
    .join("")}</ul>
<p>Each engine's full report (charts, diagnostics) is in its own folder: ${runs.map((r) => `<a href="../${esc(r.results?.runId ?? "")}/report.html">${esc(r.engine)}</a>`).join(", ")}.</p>
<table><tr><th>suite</th><th>check</th><th>value</th>${engines.map((e) => `<th>${esc(e)}</th>`).join("")}</tr>
${rows.map((r) => `<tr${r.value === "status" ? ' class="status"' : ""}><td>${esc(r.suite)}</td><td>${r.value === "status" ? esc(r.check) : ""}</td><td>${esc(r.value)}</td>${engines.map((e) => `<td class="${esc(r.byEngine[e])}">${esc(r.byEngine[e])}</td>`).join("")}</tr>`).join("\n")}
</table></body></html>
`;
}
