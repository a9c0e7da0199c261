import { appendFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderHtml } from "./html.ts";
import { renderJUnit } from "./junit.ts";
import { renderMarkdown } from "./markdown.ts";
import type { RunResults } from "./results.ts";
import { renderEngineHtml, renderEngineMarkdown, type EngineRun } from "./engines.ts";

/**
 * Writes a run's reports to DIR/<runId>/ (results.json, junit.xml, summary.md,
 * report.html, and each failed check's diagnostics) and mirrors them to
 * DIR/latest/. Appends the summary to $GITHUB_STEP_SUMMARY when set. Returns
 * the run's directory.
 */
export async function writeReports(reportsDir: string, results: RunResults): Promise<string> {
  const runDir = join(reportsDir, results.runId);
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, "results.json"), JSON.stringify(results, null, 2) + "\n");
  writeFileSync(join(runDir, "junit.xml"), renderJUnit(results));
  const markdown = renderMarkdown(results);
  writeFileSync(join(runDir, "summary.md"), markdown);
  writeFileSync(join(runDir, "report.html"), await renderHtml(results));
  results.checks.forEach((check, i) => {
    if (check.status !== "failed" || !check.diagnostics) return;
    const dir = join(runDir, "failures", `${String(i + 1).padStart(2, "0")}-${check.suite}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "diagnostics.txt"), `${check.name}\n\n${check.message}\n\n${check.diagnostics}\n`);
  });
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, markdown);
  mirrorToLatest(reportsDir, runDir);
  return runDir;
}

/**
 * The runs of one conformance run on several engines, side by side: DIR/<runId>/
 * with engines.json (every engine's results), summary.md and report.html; each
 * engine's own reports stay in DIR/<runId>-<engine>/. Mirrored to DIR/latest/.
 */
export async function writeEngineComparison(reportsDir: string, runId: string, runs: EngineRun[]): Promise<string> {
  const runDir = join(reportsDir, runId);
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, "engines.json"), JSON.stringify({ runId, engines: runs }, null, 2) + "\n");
  const markdown = renderEngineMarkdown(runId, runs);
  writeFileSync(join(runDir, "summary.md"), markdown);
  writeFileSync(join(runDir, "report.html"), renderEngineHtml(runId, runs));
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, markdown);
  mirrorToLatest(reportsDir, runDir);
  return runDir;
}

function mirrorToLatest(reportsDir: string, runDir: string): void {
  const latest = join(reportsDir, "latest");
  rmSync(latest, { recursive: true, force: true });
  cpSync(runDir, latest, { recursive: true });
}
