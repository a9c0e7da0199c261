import { appendFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderHtml } from "./html.ts";
import { renderJUnit } from "./junit.ts";
import { renderMarkdown } from "./markdown.ts";
import type { RunResults } from "./results.ts";

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
  const latest = join(reportsDir, "latest");
  rmSync(latest, { recursive: true, force: true });
  cpSync(runDir, latest, { recursive: true });
  return runDir;
}
