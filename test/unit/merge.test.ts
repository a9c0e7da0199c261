import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { mergeRuns, shardsLine } from "../../src/report/merge.ts";
import type { CheckResult, RunResults } from "../../src/report/results.ts";
import { removeTempDirs, runCli, tempDir } from "./support/fake-cluster.ts";
import { runOf } from "./support/results.ts";

afterAll(removeTempDirs);

const s = (value: number) => ({ value, unit: "s" });
const staticCheck: CheckResult = { suite: "static", name: "manifests › schema", status: "passed", values: {}, message: "", durationMs: 0 };
const check = (suite: string, name: string, status: CheckResult["status"], values: CheckResult["values"] = {}): CheckResult => ({
  suite,
  name,
  status,
  values,
  message: status === "failed" ? "expected 0 lost, saw 2" : "",
  durationMs: 1000,
});
const run = (runId: string, startedAt: string, durationS: number, checks: CheckResult[]): RunResults =>
  runOf(checks, {
    runId,
    startedAt,
    finishedAt: new Date(Date.parse(startedAt) + durationS * 1000).toISOString(),
    durationS,
    manifestsDir: "/work/manifests",
    cluster: { kind: "k3s", serverVersion: "v1.34.4" },
    engine: { name: "mysql", serverVersions: [] },
  });

const survival = run("r1-survival", "2026-11-26T05:00:00.000Z", 100, [
  staticCheck,
  check("survival", "the crash", "passed", { crash_recovery_s: s(3.2), server_version: { value: "9.7.4-2", unit: "" } }),
]);
const performance = run("r2-performance", "2026-11-26T05:00:05.000Z", 130, [
  staticCheck,
  check("performance", "the floor", "passed", { recovery_floor_crash_s: s(1.6), recovery_floor_clean_s: s(2.6) }),
]);

describe("one report from runs made side by side", () => {
  it("keeps every check once, counts again, and sets each recovery against a floor measured on another shard", () => {
    const merged = mergeRuns(
      [
        { name: "survival", results: survival },
        { name: "performance", results: performance },
      ],
      "merged-1",
    );
    expect(merged.checks.map((c) => c.name)).toEqual(["manifests › schema", "the crash", "the floor"]);
    expect(merged.summary).toEqual({ passed: 3, failed: 0, skipped: 0 });
    expect(merged.checks[2]!.values.crash_recovery_floor_ratio).toEqual({ value: 2, unit: "×" });
    expect(merged.startedAt).toBe("2026-11-26T05:00:00.000Z");
    expect(merged.durationS).toBe(135); // the wall time of both, not their sum
    expect(merged.engine!.serverVersions).toEqual(["9.7.4-2"]);
    expect(merged.shards).toEqual([
      { name: "survival", runId: "r1-survival", durationS: 100, suites: ["survival"] },
      { name: "performance", runId: "r2-performance", durationS: 130, suites: ["performance"] },
    ]);
    expect(shardsLine(merged)).toBe(
      "Merged from 2 runs side by side, each on its own cluster: survival 100.0 s, performance 130.0 s; the longest took 130.0 s.",
    );
    expect(survival.checks).toHaveLength(2); // the shards' results are left as they were
  });

  it("refuses shards of other manifests or another engine", () => {
    expect(() =>
      mergeRuns(
        [
          { name: "a", results: survival },
          { name: "b", results: { ...performance, manifestsDir: "/work/fixtures/x" } },
        ],
        "m",
      ),
    ).toThrow("shard b judged /work/fixtures/x, shard a /work/manifests: one report cannot hold both");
    expect(() =>
      mergeRuns(
        [
          { name: "a", results: survival },
          { name: "b", results: { ...performance, engine: { name: "mariadb", serverVersions: [] } } },
        ],
        "m",
      ),
    ).toThrow("shard b ran on mariadb, shard a on mysql");
  });

  it("merge-reports writes the merged reports with a failed shard's diagnostics folder, and exits 1 on a failure", async () => {
    const root = tempDir("sc-merge-");
    const failed = run("r3-backup", "2026-11-26T05:00:02.000Z", 90, [
      staticCheck,
      { ...check("backup", "the dump", "failed"), diagnosticsDir: "failures/02-backup" },
    ]);
    for (const [name, results] of [
      ["survival", survival],
      ["backup", failed],
    ] as const) {
      const dir = join(root, name, "latest");
      mkdirSync(join(dir, "failures/02-backup/logs"), { recursive: true });
      writeFileSync(join(dir, "results.json"), JSON.stringify(results));
      writeFileSync(join(dir, "failures/02-backup/logs/mysql.log"), "InnoDB: Starting crash recovery\n");
    }
    const out = join(root, "out");
    const merged = await runCli("merge-reports", ["--reports", out, "--run-id", "gate-1", join(root, "survival"), join(root, "backup")]);
    expect([merged.code, merged.stderr]).toEqual([1, ""]);
    expect(merged.stdout).toContain("merged 2 runs: 2 passed, 1 failed, 0 skipped");
    const results = JSON.parse(readFileSync(join(out, "gate-1", "results.json"), "utf8")) as RunResults;
    expect(results.checks.find((c) => c.status === "failed")!.diagnosticsDir).toBe("failures/03-backup");
    expect(readFileSync(join(out, "gate-1", "failures/03-backup/logs/mysql.log"), "utf8")).toBe("InnoDB: Starting crash recovery\n");
    expect(readFileSync(join(out, "gate-1", "summary.md"), "utf8")).toContain("Merged from 2 runs side by side");

    const bad = await runCli("merge-reports", ["--reports", out, join(root, "nothing-here")]);
    expect([bad.code, bad.stderr.trim()]).toEqual([
      2,
      `error: ${join(root, "nothing-here")} holds no results.json (nor latest/results.json); name a reports folder a run wrote`,
    ]);
  }, 60_000);
});
