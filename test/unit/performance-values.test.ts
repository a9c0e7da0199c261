import { describe, expect, it } from "vitest";
import type { FioJobName, FioResult } from "../../src/conformance/fio.ts";
import { fioValues, sysbenchValues } from "../../src/conformance/performance.ts";
import { closestValueName, performanceValueNames } from "../../src/conformance/performance-values.ts";
import { innodbCounters, type SysbenchResult } from "../../src/conformance/sysbench.ts";

describe("the values --expect can judge", () => {
  it("name every figure fio and sysbench give (the run refuses any other name before it starts)", () => {
    const fio = (job: FioJobName): FioResult => ({ job, iops: 100, mbPerS: 10, latP50Ms: 0.1, latP99Ms: 0.2, latP999Ms: 0.3 });
    const comparisons = (["randread", "randwrite", "seqwrite", "fsync"] as const).map((job) => ({
      job,
      description: job,
      claim: [fio(job)],
      baseline: [fio(job)],
    }));
    const run = (workload: SysbenchResult["workload"]): SysbenchResult => ({
      workload,
      transactions: 1000,
      tps: 100,
      qps: 2000,
      p95Ms: 9,
      errors: 0,
      reconnects: 0,
      timeS: 3,
    });
    const counters = Object.fromEntries(innodbCounters.map((c) => [c, 10]));
    const measured = {
      ...fioValues(comparisons),
      ...sysbenchValues([
        { workload: "oltp_write_only", runs: [run("oltp_write_only")], counters },
        { workload: "oltp_read_write", runs: [run("oltp_read_write")], counters },
      ]),
    };
    expect(Object.keys(measured).length).toBeGreaterThan(60);
    expect(Object.keys(measured).filter((name) => !performanceValueNames.includes(name))).toEqual([]);
  });
  it("suggest the name a typo meant, and none for a name far from all", () => {
    expect(closestValueName("fio_fsync_p99")).toBe("fio_fsync_p99_ms");
    expect(closestValueName("sysbench_tsp")).toBe("sysbench_tps");
    expect(closestValueName("latency")).toBeUndefined();
  });
});
