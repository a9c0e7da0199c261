import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { newRunId } from "../run-id.ts";
import { mergeRuns, type ShardRun } from "../../report/merge.ts";
import type { RunResults } from "../../report/results.ts";
import { reportsDirProblem, writeReports } from "../../report/write.ts";
import { readToolSettings } from "../../run/settings.ts";
import { parseOptionsAndPositionals } from "../args.ts";
import { exitStatusHelp, UsageError, type Command } from "../command.ts";

const usage = `usage: storage-conformance merge-reports [--reports DIR] [--run-id ID] PART_REPORTS...
       (npm run merge-reports -- [options] PART_REPORTS...)

One report from runs made side by side: the gate runs the suites on several
machines at once (storage-conformance run --suite ... on each, each with its
own cluster) and uploads each run's reports folder; this reads each folder's
latest run (PART/latest/results.json, or PART/results.json), merges them
(every check once, the summary, each recovery against the performance floor,
each part's duration) and writes results.json, junit.xml, summary.md,
report.html and the failed checks' folders to DIR/<run>/ and DIR/latest/.
A part is named after its folder; parts of different manifests or engines
are refused.

  --reports DIR      where the merged reports go (default: ./storage-conformance-reports)
  --run-id ID        the merged run's name (default: a new one)
  -h, --help         this text

Paths are relative to the directory you run the command in.
${exitStatusHelp}`;

/** The run a part's reports folder holds, and where its files are. */
function readShard(dir: string): ShardRun & { runDir: string } {
  const runDir = [join(dir, "latest"), dir].find((d) => existsSync(join(d, "results.json")));
  if (!runDir) throw new UsageError(`${dir} holds no results.json (nor latest/results.json)`, "name a reports folder a run wrote");
  let results: RunResults;
  try {
    results = JSON.parse(readFileSync(join(runDir, "results.json"), "utf8")) as RunResults;
  } catch (error) {
    throw new UsageError(`${join(runDir, "results.json")} is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(results.checks) || typeof results.runId !== "string")
    throw new UsageError(`${join(runDir, "results.json")} is not a run's results (no runId or checks)`);
  return { name: basename(resolve(dir)), results, runDir };
}

/** Every file under `dir`, by path relative to it. */
function filesUnder(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(dir, path)] = readFileSync(path, "utf8");
    }
  };
  if (existsSync(dir)) walk(dir);
  return files;
}

const options = { reports: { type: "string" }, "run-id": { type: "string" }, help: { type: "boolean", short: "h" } } as const;

export const mergeReports: Command = {
  name: "merge-reports",
  summary: "one report from the reports of runs made side by side",
  usage,
  async run(argv, io) {
    const { values, positionals } = parseOptionsAndPositionals(argv, options, "merge-reports");
    if (values.help) {
      io.out(usage);
      return 0;
    }
    let stepSummary: string | undefined;
    try {
      ({ stepSummary } = readToolSettings());
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const out = resolve(values.reports ?? "storage-conformance-reports");
    if (positionals.length === 0) throw new UsageError("no reports folder to merge was named", "name the parts' reports folders after the options");
    const problem = reportsDirProblem(out);
    if (problem) throw new UsageError(`--reports ${problem}`, "name a folder that can be written");
    const shards = positionals.map((p) => readShard(resolve(p)));
    const names = shards.map((s) => s.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice) throw new UsageError(`two parts are named ${twice}`, "name each folder after its part");
    // A failed check's folder (events, objects, logs) goes along: read back from the part's run.
    for (const shard of shards) {
      for (const check of shard.results.checks) {
        if (!check.diagnosticsDir) continue;
        const files = filesUnder(join(shard.runDir, check.diagnosticsDir));
        delete files["diagnostics.txt"]; // written again from the check
        check.diagnosticFiles = files;
      }
    }
    let merged: RunResults;
    try {
      merged = mergeRuns(shards, values["run-id"] ?? newRunId());
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const dir = await writeReports(out, merged, stepSummary ? { stepSummary } : {});
    const { passed, failed, skipped } = merged.summary;
    io.out(`merged ${merged.shards!.length} runs: ${passed} passed, ${failed} failed, ${skipped} skipped; reports: ${dir} (and ${out}/latest)`);
    return failed > 0 ? 1 : 0;
  },
};
