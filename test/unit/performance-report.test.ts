import { describe, expect, it } from "vitest";
import { comparedValues, expectedChecksumLines, fioValues, floorScript, parseFloorOutput } from "../../src/conformance/performance.ts";
import { renderHtml } from "../../src/report/html.ts";
import { fioRows, fioSpec, floorComparison } from "../../src/report/performance.ts";
import type { CheckResult, RunResults } from "../../src/report/results.ts";
import { renderChart } from "../../src/report/charts.ts";
import { runOf } from "./support/results.ts";

const fioCheck: CheckResult = {
  suite: "performance",
  name: "fio on a claim like the design's against a baseline",
  status: "passed",
  values: {
    fio_baseline: { value: "the node's disk outside any volume (hostPath /var/lib/rancher/k3s/sc-perf-baseline-x)", unit: "" },
    ...comparedValues("fio_fsync_p99_ms", "ms", [2.5, 3.1, 2.9], [1.0, 1.2, 1.1]),
    ...comparedValues("fio_randread_iops", "IOPS", [9000, 11000, 10000], [20000, 19000, 21000]),
  },
  message: "",
  durationMs: 30_000,
};

const floorCheck: CheckResult = {
  suite: "performance",
  name: "sysbench and the recovery floor",
  status: "passed",
  values: { recovery_floor_crash_s: { value: 0.8, unit: "s" }, recovery_floor_clean_s: { value: 0.6, unit: "s" } },
  message: "",
  durationMs: 60_000,
};

const survival: CheckResult = {
  suite: "survival",
  name: "survives 2 deletions",
  status: "passed",
  values: {
    replacement: { value: "pod deletion", unit: "" },
    cycle1_newPodScheduled_s: { value: 0.2, unit: "s" },
    cycle2_newPodScheduled_s: { value: 0.4, unit: "s" },
    cycle1_containerStarted_s: { value: 1.0, unit: "s" },
    cycle2_containerStarted_s: { value: 1.2, unit: "s" },
    cycle1_oldPodGone_s: { value: 2.0, unit: "s" },
    cycle2_oldPodGone_s: { value: 2.2, unit: "s" },
    cycle1_mysqldReady_s: { value: 4.0, unit: "s" },
    cycle2_mysqldReady_s: { value: 5.0, unit: "s" },
    recovery_p50_s: { value: 5.4, unit: "s" },
  },
  message: "",
  durationMs: 20_000,
};

const crash: CheckResult = {
  suite: "resilience",
  name: "mysqld killed",
  status: "passed",
  values: {
    crash_recovery_s: { value: 3.2, unit: "s" },
    crash_container_restarted_s: { value: 1.1, unit: "s" },
    crash_mysqld_ready_s: { value: 2.9, unit: "s" },
  },
  message: "",
  durationMs: 10_000,
};

const run = (checks: CheckResult[]): RunResults => runOf(checks);

describe("the claim against its baseline", () => {
  it("records the median, min, max of both and their ratio", () => {
    expect(comparedValues("fio_fsync_p99_ms", "ms", [2.5, 3.1, 2.9], [1.0, 1.2, 1.1])).toEqual({
      fio_fsync_p99_ms: { value: 2.9, unit: "ms" },
      fio_fsync_p99_ms_min: { value: 2.5, unit: "ms" },
      fio_fsync_p99_ms_max: { value: 3.1, unit: "ms" },
      fio_fsync_p99_ms_baseline: { value: 1.1, unit: "ms" },
      fio_fsync_p99_ms_baseline_min: { value: 1.0, unit: "ms" },
      fio_fsync_p99_ms_baseline_max: { value: 1.2, unit: "ms" },
      fio_fsync_p99_ms_ratio: { value: 2.636, unit: "claim/baseline" },
    });
  });

  it("names each fio figure as results.json does, only for jobs measured on both", () => {
    const result = (job: "fsync" | "randread", iops: number, p99: number) => ({ job, iops, mbPerS: 1, latP50Ms: p99 / 2, latP99Ms: p99, latP999Ms: p99 * 2 });
    const values = fioValues([
      { job: "fsync", description: "", claim: [result("fsync", 100, 4)], baseline: [result("fsync", 200, 2)] },
      { job: "randread", description: "", claim: [result("randread", 5, 1)], baseline: [] },
    ]);
    expect(values.fio_fsync_p99_ms).toEqual({ value: 4, unit: "ms" });
    expect(values.fio_fsync_p99_ms_ratio).toEqual({ value: 2, unit: "claim/baseline" });
    expect(values.fio_fsync_p999_ms_baseline).toEqual({ value: 4, unit: "ms" });
    expect(values.fio_randread_iops).toBeUndefined();
  });

  it("shows each figure with its spread in the HTML table and chart", async () => {
    const rows = fioRows(run([fioCheck]));
    expect(rows.map((r) => [r.label, r.claim, r.baseline, r.ratio])).toEqual([
      ["4K random read (IOPS)", [10000, 9000, 11000], [20000, 19000, 21000], 0.5],
      ["16K write + fdatasync, p99 (ms)", [2.9, 2.5, 3.1], [1.1, 1, 1.2], 2.636],
    ]);
    const html = await renderHtml(run([fioCheck]));
    expect(html).toContain("Storage performance: the claim against its baseline");
    expect(html).toContain('2.9 <span class="muted">(2.5–3.1)</span>');
    const svg = await renderChart(fioSpec(run([fioCheck]))!);
    expect(svg).toContain("16K write + fdatasync, p99 (ms)");
    expect(fioSpec(run([crash]))).toBeUndefined();
  });
});

describe("the recovery floor", () => {
  it("parses the script's timings in seconds and ignores everything else", () => {
    expect(parseFloorOutput("mysqld: [Warning] x\ncrash 812\nclean 640\ncrash 905\nclean 611\n")).toEqual({ crash_s: [0.812, 0.905], clean_s: [0.64, 0.611] });
  });

  it("expects the checksum queries' rows per dataset table, in order, as the mysql client prints them", () => {
    expect(
      expectedChecksumLines({
        customers: { rows: 3, checksum: "0A0B0C0D" },
        orders: { rows: 5, checksum: "00000001" },
        products: { rows: 4, checksum: "FFFFFFFF" },
      }),
    ).toBe("3\t0A0B0C0D\n4\tFFFFFFFF\n5\t00000001");
  });

  it("quotes the query and the container's arguments for sh", () => {
    const script = floorScript({
      query: "SELECT 'a' FROM t",
      expected: "1\tX",
      repeats: 2,
      mysqldArgs: ["--innodb-flush-log-at-trx-commit=1", "it's"],
      deadlineS: 120,
    });
    expect(script).toContain(`QUERY='SELECT '\\''a'\\'' FROM t'`);
    expect(script).toContain(`docker-entrypoint.sh mysqld '--innodb-flush-log-at-trx-commit=1' 'it'\\''s'`);
    expect(script).toContain('while [ "$i" -lt 2 ]');
    expect(script).not.toMatch(/password=[^"]/);
  });

  it("puts each disruption against its floor and names what fills the difference", () => {
    const comparison = floorComparison([survival, crash, floorCheck])!;
    expect(comparison.values).toEqual({ crash_recovery_floor_ratio: { value: 4, unit: "×" }, recovery_p50_floor_ratio: { value: 9, unit: "×" } });
    expect(comparison.notes[0]).toContain("3.20 s to a verified query, 4.0× the floor of 0.80 s");
    expect(comparison.notes[0]).toContain("restarted the container at 1.10 s");
    expect(comparison.notes[1]).toContain("5.40 s (p50) to a verified query, 9.0× the floor of 0.60 s");
    expect(comparison.notes[1]).toContain(
      "replacement scheduled at 0.30 s, its volume mounted and container running at 1.10 s, old pod gone (its mysqld shut down) at 2.10 s, readiness probe passed at 4.50 s",
    );
    expect(floorComparison([survival, crash])).toBeUndefined();
  });

  it("leaves out a disruption whose check failed", () => {
    const comparison = floorComparison([{ ...crash, status: "failed" }, floorCheck])!;
    expect(comparison.values).toEqual({});
    expect(comparison.notes).toEqual([]);
  });
});
