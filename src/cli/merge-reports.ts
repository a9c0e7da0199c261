import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { newRunId } from "../cluster/index.ts";
import { mergeRuns, type ShardRun } from "../report/merge.ts";
import type { RunResults } from "../report/results.ts";
import { reportsDirProblem, writeReports } from "../report/write.ts";
import { readToolSettings } from "../run/settings.ts";
import { describeArgsError } from "./args.ts";

const usage = `usage: npm run merge-reports -- [--out DIR] [--run-id ID] SHARD_REPORTS...

One report from runs made side by side: the gate runs the suites on several
machines at once (npm run conformance -- --suite ... on each, each with its own
cluster) and uploads each run's reports folder; this reads each folder's
latest run (SHARD/latest/results.json, or SHARD/results.json), merges them
(every check once, the summary, each recovery against the performance floor,
each shard's duration) and writes results.json, junit.xml, summary.md,
report.html and the failed checks' folders to DIR/<run>/ and DIR/latest/.
A shard is named after its folder. Exit 1 when a merged check failed, 2 on bad input.

  --out DIR      where the merged reports go (default: reports)
  --run-id ID    the merged run's name (default: a new one)`;

/** The run a shard's reports folder holds, and where its files are. */
function readShard(dir: string): ShardRun & { runDir: string } {
  const runDir = [join(dir, "latest"), dir].find((d) => existsSync(join(d, "results.json")));
  if (!runDir) throw new Error(`${dir} holds no results.json (nor latest/results.json): not a reports folder of npm run conformance`);
  let results: RunResults;
  try {
    results = JSON.parse(readFileSync(join(runDir, "results.json"), "utf8")) as RunResults;
  } catch (error) {
    throw new Error(`${join(runDir, "results.json")} is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(results.checks) || typeof results.runId !== "string")
    throw new Error(`${join(runDir, "results.json")} is not a run's results (no runId or checks)`);
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

async function main(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parse>;
  const parse = () =>
    parseArgs({
      args: argv,
      options: { out: { type: "string" }, "run-id": { type: "string" }, help: { type: "boolean" } },
      allowPositionals: true,
      strict: true,
    });
  try {
    args = parse();
  } catch (error) {
    console.error(`${describeArgsError(error)}\n\n${usage}`);
    return 2;
  }
  if (args.values.help) {
    console.log(usage);
    return 0;
  }
  const out = resolve(args.values.out ?? "reports");
  let merged: RunResults;
  let stepSummary: string | undefined;
  try {
    ({ stepSummary } = readToolSettings());
    if (args.positionals.length === 0) throw new Error("name the shards' reports folders to merge");
    const problem = reportsDirProblem(out);
    if (problem) throw new Error(`--out ${problem}`);
    const shards = args.positionals.map(readShard);
    const names = shards.map((s) => s.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice) throw new Error(`two shards are named ${twice}: name each folder after its shard`);
    // A failed check's folder (events, objects, logs) goes along: read back from the shard's run.
    for (const shard of shards) {
      for (const check of shard.results.checks) {
        if (!check.diagnosticsDir) continue;
        const files = filesUnder(join(shard.runDir, check.diagnosticsDir));
        delete files["diagnostics.txt"]; // written again from the check
        check.diagnosticFiles = files;
      }
    }
    merged = mergeRuns(shards, args.values["run-id"] ?? newRunId());
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 2;
  }
  const dir = await writeReports(out, merged, { stepSummary });
  const { passed, failed, skipped } = merged.summary;
  console.log(`merged ${merged.shards!.length} runs: ${passed} passed, ${failed} failed, ${skipped} skipped; reports: ${dir} (and ${out}/latest)`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
