import { shardsLine } from "./merge.ts";
import { ackTimelineSpec, backupSpec, disruptionSpec, milestoneSpec, recoverySpec, renderChart } from "./charts.ts";
import { backupRows } from "./backups.ts";
import { fioRows, fioSpec } from "./performance.ts";
import { engineLines, headlineValues } from "./markdown.ts";
import { type CheckResult, findingsOf, type RunResults } from "./results.ts";

/** Text safe inside HTML. */
export const esc = (text: unknown) => String(text).replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);

const style = `
body{font:15px/1.5 system-ui,sans-serif;max-width:1000px;margin:2rem auto;padding:0 1rem;color:#1b1f24}
h1{font-size:1.5rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
.banner{padding:.75rem 1rem;border-radius:6px;font-weight:600}
.ok{background:#dafbe1;color:#116329}.bad{background:#ffebe9;color:#a40e26}
table{border-collapse:collapse;width:100%;font-size:14px} th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #eaeef2;vertical-align:top}
.passed{color:#116329}.failed{color:#a40e26}.skipped{color:#6e7781}.finding{color:#9a6700}
pre{background:#f6f8fa;padding:.75rem;overflow:auto;font-size:12.5px;white-space:pre-wrap}
.failure{border-left:4px solid #cf222e;padding-left:1rem;margin:1rem 0}
.notes li{margin:.25rem 0} .muted{color:#57606a}`;

function factsTable(results: RunResults): string {
  const rows: [string, unknown][] = [];
  const cluster = (results.cluster ?? {}) as Record<string, unknown>;
  for (const key of ["kind", "serverVersion", "image", "imageReason", "privileged", "startSeconds"]) {
    if (cluster[key] !== undefined) rows.push([`cluster ${key}`, key === "startSeconds" ? `${Number(cluster[key]).toFixed(1)} s` : cluster[key]]);
  }
  const binding = results.checks.find((c) => c.values.provisioner && c.values.volume_binding_mode);
  if (binding) {
    for (const key of [
      "storage_class",
      "provisioner",
      "reclaim_policy",
      "volume_binding_mode",
      "allow_volume_expansion",
      "pv_capacity",
      "pv_access_modes",
      "pv_path",
    ]) {
      if (binding.values[key]) rows.push([key.replace(/_/g, " "), binding.values[key]!.value]);
    }
  }
  return `<table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("")}</table>`;
}

function failure(check: CheckResult): string {
  return `<div class="failure"><h3>${esc(check.suite)} › ${esc(check.name)}</h3>
<p><strong>What was expected, what was seen:</strong></p><pre>${esc(check.message)}</pre>
${check.diagnosticsDir ? `<p>Everything collected: <a href="${esc(check.diagnosticsDir)}/">${esc(check.diagnosticsDir)}/</a> (${["diagnostics.txt", ...Object.keys(check.diagnosticFiles ?? {})].map((f) => `<a href="${esc(check.diagnosticsDir)}/${esc(f)}">${esc(f)}</a>`).join(", ")})</p>` : ""}
${check.diagnostics ? `<details><summary>Diagnostics collected (claims, pods, events, logs)</summary><pre>${esc(check.diagnostics)}</pre></details>` : ""}</div>`;
}

/** fio's figures on the claim against the baseline: median (min–max) and their ratio. */
function performanceTable(results: RunResults): string {
  const rows = fioRows(results);
  if (rows.length === 0) return "";
  const cell = ([median, min, max]: number[]) => `${esc(median)} <span class="muted">(${esc(min)}–${esc(max)})</span>`;
  return `<h2>Storage performance: the claim against its baseline</h2><table><tr><th>figure</th><th>claim</th><th>baseline</th><th>claim / baseline</th></tr>
${rows.map((r) => `<tr><td>${esc(r.label)} <span class="muted">(${esc(r.better)} is better)</span></td><td>${cell(r.claim)}</td><td>${cell(r.baseline)}</td><td>${esc(r.ratio ?? "-")}</td></tr>`).join("\n")}</table>`;
}

/** The design's backup layers: each method's size, durations and whether its restore was verified, or why it was not run. */
function backupTable(results: RunResults): string {
  const rows = backupRows(results);
  if (!rows) return "";
  const n = (v: number | undefined, unit: string) => (v === undefined ? "-" : `${esc(v)} ${unit}`);
  return `<h2>Backups: the design's layers</h2><table><tr><th>method</th><th>the design says</th><th>size</th><th>backup</th><th>restore</th><th>outcome</th></tr>
${rows.map((r) => `<tr><td>${esc(r.method)}</td><td>${esc(r.designSays)}</td><td>${r.bytes === undefined ? "-" : `${esc((r.bytes / 1e6).toFixed(1))} MB`}</td><td>${n(r.backupS, "s")}</td><td>${n(r.restoreS, "s")}</td><td class="${r.outcome.startsWith("restored") ? "passed" : r.outcome.startsWith("FAILED") ? "failed" : "skipped"}">${esc(r.outcome)}</td></tr>`).join("\n")}</table>`;
}

/** A self-contained HTML report: no script, no external asset; charts are inline SVG. */
export async function renderHtml(results: RunResults): Promise<string> {
  const { passed, failed, skipped } = results.summary;
  const charts: string[] = [];
  for (const spec of [
    disruptionSpec(results),
    recoverySpec(results),
    ...results.checks.map(milestoneSpec),
    ...results.checks.map(ackTimelineSpec),
    backupSpec(results),
    fioSpec(results),
  ])
    if (spec) charts.push(await renderChart(spec));
  const notes = [...new Set(results.checks.flatMap((c) => (c.notes ?? []).filter((n) => !n.startsWith("finding: "))))];
  const withFindings = results.checks.filter((c) => c.status === "passed" && findingsOf(c).length);
  const statusOf = (c: CheckResult) => (withFindings.includes(c) ? "finding" : c.status);
  const failures = results.checks.filter((c) => c.status === "failed");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Storage conformance ${esc(results.runId)}</title><style>${style}</style></head><body>
<h1>Storage conformance</h1>
<p class="banner ${failed ? "bad" : "ok"}">${failed ? `${failed} check${failed > 1 ? "s" : ""} failed` : "Every check passed"} — ${passed} passed${withFindings.length ? ` (${withFindings.length} with a finding)` : ""}, ${failed} failed, ${skipped} skipped</p>
<p class="muted">Run ${esc(results.runId)}, ${esc(results.startedAt)}, ${results.durationS.toFixed(1)} s. Manifests: ${esc(results.manifestsDir)}.</p>
${shardsLine(results) ? `<p class="muted">${esc(shardsLine(results)!)}</p>` : ""}
${engineLines(results)
  .map((l) => `<p${/WARNING/.test(l) ? ' class="banner bad"' : ""}>${esc(l.replace(/\*\*|`/g, ""))}</p>`)
  .join("\n")}
${results.deviations?.length ? `<h2>Deviations from the manifests</h2><ul class="notes">${results.deviations.map((d) => `<li>${esc(d)}</li>`).join("")}</ul>` : ""}
${failures.length ? `<h2>What failed</h2>${failures.map(failure).join("")}` : ""}
${charts.length ? `<h2>Measurements</h2>${charts.join("\n")}` : ""}
${performanceTable(results)}
${backupTable(results)}
<h2>Cluster and storage</h2>${factsTable(results)}
${withFindings.length ? `<h2>Findings: what the design claims and these manifests do not do</h2><ul class="notes">${withFindings.flatMap((c) => findingsOf(c).map((f) => `<li class="finding"><b>${esc(c.suite)}</b>: ${esc(f)}</li>`)).join("")}</ul>` : ""}
${notes.length ? `<h2>Where the design and this cluster differ</h2><ul class="notes">${notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : ""}
<h2>All checks</h2><table><tr><th></th><th>suite</th><th>check</th><th>values</th></tr>
${results.checks.map((c) => `<tr><td class="${statusOf(c)}">${statusOf(c)}</td><td>${esc(c.suite)}</td><td>${esc(c.name)}</td><td>${esc(headlineValues(c, 8))}</td></tr>`).join("\n")}</table>
</body></html>
`;
}
