import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunResults } from "./results.ts";

/**
 * Writes a run's reports to DIR/<runId>/ and mirrors them to DIR/latest/.
 * Returns the run's directory.
 */
export function writeReports(reportsDir: string, results: RunResults): string {
  const runDir = join(reportsDir, results.runId);
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, "results.json"), JSON.stringify(results, null, 2) + "\n");
  const latest = join(reportsDir, "latest");
  rmSync(latest, { recursive: true, force: true });
  cpSync(runDir, latest, { recursive: true });
  return runDir;
}
