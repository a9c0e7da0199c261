import { appendFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { writableFolderProblem } from "../files.ts";
import { renderHtml } from "./html.ts";
import { renderJUnit } from "./junit.ts";
import { renderMarkdown } from "./markdown.ts";
import type { RunResults } from "./results.ts";
import { renderEngineHtml, renderEngineMarkdown, type EngineRun } from "./engines.ts";

/**
 * Writes a run's reports to DIR/<runId>/ (results.json, junit.xml, summary.md,
 * report.html, and each failed check's diagnostics) and mirrors them to
 * DIR/latest/. Appends the summary to `stepSummary` (GITHUB_STEP_SUMMARY) when
 * given. Returns the run's directory.
 */
export async function writeReports(reportsDir: string, results: RunResults, options: { stepSummary?: string } = {}): Promise<string> {
  const runDir = join(reportsDir, results.runId);
  mkdirSync(runDir, { recursive: true });
  writeFailureFolders(runDir, results);
  // The files are in the folders; results.json names the folder.
  writeFileSync(join(runDir, "results.json"), `${JSON.stringify(results, (key, value) => (key === "diagnosticFiles" ? undefined : value), 2)}\n`);
  writeFileSync(join(runDir, "junit.xml"), renderJUnit(results));
  const markdown = renderMarkdown(results);
  writeFileSync(join(runDir, "summary.md"), markdown);
  writeFileSync(join(runDir, "report.html"), await renderHtml(results));
  if (options.stepSummary) appendFileSync(options.stepSummary, markdown);
  mirrorToLatest(reportsDir, runDir);
  return runDir;
}

/**
 * A folder per failed check, failures/NN-<suite>/: diagnostics.txt (the check,
 * its message and the summary) and the files collected behind it. Sets each
 * check's diagnosticsDir, which the HTML and JUnit reports link.
 */
function writeFailureFolders(runDir: string, results: RunResults): void {
  results.checks.forEach((check, i) => {
    if (check.status !== "failed" || (!check.diagnostics && !check.diagnosticFiles)) return;
    const relative = `failures/${String(i + 1).padStart(2, "0")}-${check.suite.replace(/[^\w.-]/g, "_")}`;
    const dir = join(runDir, relative);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "diagnostics.txt"), `${check.name}\n\n${check.message}\n\n${check.diagnostics ?? ""}\n`);
    for (const [name, text] of Object.entries(check.diagnosticFiles ?? {})) {
      const path = safeRelativePath(name);
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    check.diagnosticsDir = relative;
  });
}

/** A collected file's name as a path inside its folder: no absolute paths, no "..", nothing but plain characters. */
export function safeRelativePath(name: string): string {
  const parts = name
    .split("/")
    .map((p) => p.replace(/[^\w.-]/g, "_"))
    .filter((p) => p !== "" && p !== "." && p !== "..");
  return parts.join("/") || "unnamed";
}

/**
 * The runs of one conformance run on several engines, side by side: DIR/<runId>/
 * with engines.json (every engine's results), summary.md and report.html; each
 * engine's own reports stay in DIR/<runId>-<engine>/. Mirrored to DIR/latest/.
 */
export async function writeEngineComparison(reportsDir: string, runId: string, runs: EngineRun[], options: { stepSummary?: string } = {}): Promise<string> {
  const runDir = join(reportsDir, runId);
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, "engines.json"), `${JSON.stringify({ runId, engines: runs }, null, 2)}\n`);
  const markdown = renderEngineMarkdown(runId, runs);
  writeFileSync(join(runDir, "summary.md"), markdown);
  writeFileSync(join(runDir, "report.html"), renderEngineHtml(runId, runs));
  if (options.stepSummary) appendFileSync(options.stepSummary, markdown);
  mirrorToLatest(reportsDir, runDir);
  return runDir;
}

function mirrorToLatest(reportsDir: string, runDir: string): void {
  const latest = join(reportsDir, "latest");
  rmSync(latest, { recursive: true, force: true });
  cpSync(runDir, latest, { recursive: true });
}

/**
 * Why reports cannot be written to `reportsDir`, checked before a run (so a
 * verdict is never followed by a crash): it names a file, or a folder that
 * cannot be created or written. Creates the folder when it can.
 */
export function reportsDirProblem(reportsDir: string): string | undefined {
  return writableFolderProblem(reportsDir);
}
