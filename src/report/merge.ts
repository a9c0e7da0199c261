// One run's results from the runs of its shards: the gate runs the suites on
// several machines at once (each with its own cluster), and people still read
// one report. Pure.
import { applyFloor } from "./performance.ts";
import { type CheckResult, type RunResults, serverVersionsOf, summarise } from "./results.ts";

export interface ShardRun {
  /** The shard's name (its artifact's folder). */
  name: string;
  results: RunResults;
}

/**
 * Merges the shards' results into one run named `runId`: every check once
 * (the static checks, which each shard repeats, once), the summary counted
 * again, each recovery set against the performance suite's floor again (the
 * floor and the disruptions ran on different shards), and each shard's run
 * and duration kept. Throws when the shards did not judge the same manifests
 * on the same engine: one report of those would mislead.
 */
export function mergeRuns(shards: ShardRun[], runId: string): RunResults {
  if (shards.length === 0) throw new Error("no shard results to merge");
  const first = shards[0]!.results;
  for (const { name, results } of shards.slice(1)) {
    if (results.manifestsDir !== first.manifestsDir)
      throw new Error(`shard ${name} judged ${results.manifestsDir}, shard ${shards[0]!.name} ${first.manifestsDir}: one report cannot hold both`);
    if (results.engine?.name !== undefined && first.engine?.name !== undefined && results.engine.name !== first.engine.name)
      throw new Error(`shard ${name} ran on ${results.engine.name}, shard ${shards[0]!.name} on ${first.engine.name}: one report cannot hold both`);
  }
  const seen = new Set<string>();
  const checks: CheckResult[] = [];
  for (const { results } of shards) {
    for (const check of results.checks) {
      const key = `${check.suite}\u0000${check.name}`;
      if (check.suite === "static" && seen.has(key)) continue;
      seen.add(key);
      checks.push(structuredClone(check));
    }
  }
  applyFloor(checks);
  const started = Math.min(...shards.map((s) => Date.parse(s.results.startedAt)));
  const finished = Math.max(...shards.map((s) => Date.parse(s.results.finishedAt)));
  const union = (lists: (string[] | undefined)[]) => [...new Set(lists.flatMap((l) => l ?? []))];
  const engine = shards.map((s) => s.results.engine).find(Boolean);
  const deviations = union(shards.map((s) => s.results.deviations));
  return {
    runId,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationS: +((finished - started) / 1000).toFixed(1),
    manifestsDir: first.manifestsDir,
    ...(shards.map((s) => s.results.cluster).find(Boolean) ? { cluster: shards.map((s) => s.results.cluster).find(Boolean) } : {}),
    ...(engine ? { engine: { ...engine, serverVersions: serverVersionsOf(checks) } } : {}),
    timeoutOverrides: union(shards.map((s) => s.results.timeoutOverrides)),
    ...(deviations.length ? { deviations } : {}),
    shards: shards.map(({ name, results }) => ({
      name,
      runId: results.runId,
      durationS: results.durationS,
      suites: [...new Set(results.checks.map((c) => c.suite))].filter((s) => s !== "static"),
    })),
    summary: summarise(checks),
    checks,
  };
}

/** "Merged from 4 runs side by side: survival 101.2 s, …; the longest 125.0 s." for the reports; undefined for a run of one machine. */
export function shardsLine(results: RunResults): string | undefined {
  if (!results.shards?.length) return undefined;
  const longest = Math.max(...results.shards.map((s) => s.durationS));
  return `Merged from ${results.shards.length} runs side by side, each on its own cluster: ${results.shards
    .map((s) => `${s.name} ${s.durationS.toFixed(1)} s`)
    .join(", ")}; the longest took ${longest.toFixed(1)} s.`;
}
