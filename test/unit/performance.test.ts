import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { evaluateExpectations, measuredBy, parseExpectation } from "../../src/run/expectations.ts";
import { fioJobs, parseFioJson, type FioJobName } from "../../src/conformance/fio.ts";
import { perfProfile, perfProfiles, spread } from "../../src/run/perf-profile.ts";
import { counterDeltas, innodbCounters, parseStatus, parseSysbench } from "../../src/conformance/sysbench.ts";
import { projectRoot } from "../../src/paths.ts";

const fixture = (path: string) => readFileSync(join(projectRoot, "test/unit/fixtures", path), "utf8");

describe("the performance profile", () => {
  it("is short when SC_PERF_PROFILE is unset or empty, and rejects a typo", () => {
    expect(perfProfile(undefined)).toBe("short");
    expect(perfProfile("")).toBe("short");
    expect(perfProfile("long")).toBe("long");
    expect(() => perfProfile("nightly")).toThrow("SC_PERF_PROFILE=nightly is not short or long (short: the gate's ~45 s of measuring, long: the nightly's)");
  });

  it("measures 1 s fio runs 3 times in the gate and 10 s runs 5 times at night", () => {
    expect(perfProfiles.short).toEqual({ fioRuntimeS: 1, fioRepeats: 3, sysbenchTimeS: 3, sysbenchRepeats: 3, floorRepeats: 3 });
    expect(perfProfiles.long).toEqual({ fioRuntimeS: 10, fioRepeats: 5, sysbenchTimeS: 30, sysbenchRepeats: 3, floorRepeats: 5 });
  });
});

describe("the spread of repeated measurements", () => {
  it("is the middle value of an odd count, whatever the order", () => {
    expect(spread([3.1, 0.37, 1.2])).toEqual({ median: 1.2, min: 0.37, max: 3.1, n: 3 });
  });

  it("is the mean of the two middle values of an even count", () => {
    expect(spread([291.1, 196.34, 280, 201])).toEqual({ median: 240.5, min: 196.34, max: 291.1, n: 4 });
  });

  it("refuses no values and values that are not finite", () => {
    expect(() => spread([])).toThrow("spread of no values");
    expect(() => spread([1, NaN, 2])).toThrow("spread of [1, NaN, 2]: NaN is not a finite number");
    expect(() => spread([Infinity])).toThrow("Infinity is not a finite number");
  });
});

describe("the fio jobs", () => {
  const jobs = fioJobs("/var/lib/mysql/sc-perf", 10);

  it("are random reads and writes, sequential writes and fdatasync'd writes, in that order", () => {
    expect(jobs.map((j) => j.name)).toEqual(["randread", "randwrite", "seqwrite", "fsync"]);
    expect(
      jobs.filter((j) => j.args.at(-1) !== "--output-format=json").map((j) => j.name),
      "jobs whose last argument is not --output-format=json",
    ).toEqual([]);
  });

  it("reuse one file per kind across repeats, random reads and writes sharing theirs", () => {
    expect(jobs.map((j) => j.args.find((a) => a.startsWith("--filename=")))).toEqual([
      "--filename=sc-fio-rand",
      "--filename=sc-fio-rand",
      "--filename=sc-fio-seq",
      "--filename=sc-fio-sync",
    ]);
  });

  it("give randread 4 KiB direct reads, 16 in flight, for the runtime asked", () => {
    expect(jobs[0]!.args).toEqual([
      "--name=randread",
      "--directory=/var/lib/mysql/sc-perf",
      "--filename=sc-fio-rand",
      "--time_based",
      "--runtime=10",
      "--ramp_time=0",
      "--randrepeat=0",
      "--percentile_list=50:99:99.9",
      "--rw=randread",
      "--bs=4k",
      "--ioengine=libaio",
      "--iodepth=16",
      "--direct=1",
      "--size=64m",
      "--output-format=json",
    ]);
  });

  it("give seqwrite 1 MiB direct writes, 4 in flight", () => {
    expect(jobs[2]!.args.slice(8)).toEqual(["--rw=write", "--bs=1m", "--ioengine=libaio", "--iodepth=4", "--direct=1", "--size=64m", "--output-format=json"]);
  });

  it("give fsync InnoDB's redo log pattern: 16 KiB writes through the page cache, each followed by fdatasync", () => {
    expect(jobs[3]!.args.slice(8)).toEqual(["--rw=write", "--bs=16k", "--ioengine=sync", "--fdatasync=1", "--size=16m", "--output-format=json"]);
    expect(jobs[3]!.args).not.toContain("--direct=1");
  });
});

// Real output of Debian bookworm's fio 3.33 running fioJobs(dir, 1) with --size=8m on ext4.
describe("fio's JSON output", () => {
  const parse = (job: FioJobName) => parseFioJson(job, fixture(`fio/${job}.json`));

  it("gives randread's IOPS, bandwidth and completion latencies from the read side", () => {
    expect(parse("randread")).toEqual({ job: "randread", iops: 77294.705295, mbPerS: 316.599112, latP50Ms: 0.18944, latP99Ms: 0.309248, latP999Ms: 0.37888 });
  });

  it("gives randwrite's from the write side", () => {
    expect(parse("randwrite")).toEqual({
      job: "randwrite",
      iops: 58606.393606,
      mbPerS: 240.051788,
      latP50Ms: 0.201728,
      latP99Ms: 0.610304,
      latP999Ms: 25.55904,
    });
  });

  it("gives seqwrite's from the write side", () => {
    expect(parse("seqwrite")).toEqual({ job: "seqwrite", iops: 629.850746, mbPerS: 660.446376, latP50Ms: 6.127616, latP99Ms: 11.337728, latP999Ms: 15.269888 });
  });

  it("gives fsync's latencies from the fdatasync percentiles (jobs[0].sync.lat_ns), not the writes' own", () => {
    expect(parse("fsync")).toEqual({ job: "fsync", iops: 4992.007992, mbPerS: 81.789058, latP50Ms: 0.154624, latP99Ms: 0.370688, latP999Ms: 1.236992 });
  });

  it("skips fio's warnings printed before the JSON", () => {
    const warned = `fio: this platform does not support process shared mutexes, forcing use of threads. Use the 'thread' option to get rid of this warning.\n${fixture("fio/randread.json")}`;
    expect(parseFioJson("randread", warned).iops).toBe(77294.705295);
  });

  it("names a job that failed, with its errno and fio's own line (real output: randwrite pointed at /dev/full)", () => {
    expect(() => parseFioJson("randwrite", fixture("fio/randwrite-error.txt"))).toThrow(
      'fio randwrite: the job failed with error 22 (EINVAL); its output began: "fio: pid=3639, err=22/file:ioengines.c:496, func=io commit, error=Invalid argument\\n{',
    );
  });

  it("names output cut short as incomplete JSON", () => {
    const text = fixture("fio/fsync.json");
    expect(() => parseFioJson("fsync", text.slice(0, 2000))).toThrow(
      /^fio fsync: the output is not complete JSON \(.+\): fio was cut short or its output truncated; its output began: "\{\\n {2}\\"fio version\\" : \\"fio-3\.33\\",/,
    );
  });

  it("names output with no JSON at all, and the output of another job", () => {
    expect(() => parseFioJson("seqwrite", "fio: failed parsing runtime=x\n")).toThrow(
      'fio seqwrite: printed no JSON; its output began: "fio: failed parsing runtime=x\\n"',
    );
    expect(() => parseFioJson("seqwrite", fixture("fio/fsync.json"))).toThrow(/^fio seqwrite: the JSON is the output of job fsync, not seqwrite;/);
  });

  it("names the missing fdatasync percentiles when fsync ran without --fdatasync", () => {
    const json = JSON.parse(fixture("fio/fsync.json"));
    delete json.jobs[0].sync.lat_ns.percentile;
    expect(() => parseFioJson("fsync", JSON.stringify(json))).toThrow(
      /^fio fsync: no latency percentiles at jobs\[0\]\.sync\.lat_ns\.percentile \(fio reports fdatasync latency there only with --fdatasync\)/,
    );
  });
});

// A faithful 1.0.20 report (layout from db_report_cumulative and sb_report_cumulative,
// spacing as the Debian binary prints it) and a real run that could not connect.
describe("sysbench's final report", () => {
  it("gives oltp_write_only's transactions, rates, 95th percentile, errors and time", () => {
    expect(parseSysbench("oltp_write_only", fixture("sysbench/oltp_write_only.txt"))).toEqual({
      workload: "oltp_write_only",
      transactions: 8734,
      tps: 291.1,
      qps: 1746.62,
      p95Ms: 20.37,
      errors: 0,
      reconnects: 0,
      timeS: 30.0031,
    });
  });

  it("reads the final report past the interval lines of --report-interval", () => {
    expect(parseSysbench("oltp_read_write", fixture("sysbench/oltp_read_write.txt"))).toEqual({
      workload: "oltp_read_write",
      transactions: 5893,
      tps: 196.34,
      qps: 3927.54,
      p95Ms: 30.26,
      errors: 3,
      reconnects: 0,
      timeS: 30.0147,
    });
  });

  it("names the missing line and shows the end of a run that never connected", () => {
    expect(() => parseSysbench("oltp_write_only", fixture("sysbench/connect-failed.txt"))).toThrow(
      /^sysbench oltp_write_only: the report has no "transactions: N \(X per sec\.\)" line \(did the run finish\?\); its output ended: ".*FATAL: Thread initialization failed!\\n"$/,
    );
  });

  it("names a report cut off before its latencies", () => {
    const text = fixture("sysbench/oltp_write_only.txt");
    expect(() => parseSysbench("oltp_write_only", text.slice(0, text.indexOf("Latency (ms):")))).toThrow(
      /the report has no "95th percentile: X \(under Latency \(ms\):\)" line/,
    );
  });
});

describe("the server's counters around a run", () => {
  // mysql -N -B -e "SHOW GLOBAL STATUS", abridged, MySQL 8.4.
  const before = parseStatus(
    [
      "Com_commit\t12",
      "Innodb_buffer_pool_dump_status\tDumping of buffer pool not started",
      "Innodb_buffer_pool_read_requests\t104233",
      "Innodb_buffer_pool_reads\t1041",
      "Innodb_data_fsyncs\t1187",
      "Innodb_os_log_written\t2619904",
      "Innodb_redo_log_enabled\tON",
      "Ssl_cipher\t",
      "Uptime\t3604",
    ].join("\n"),
  );

  it("keeps the numeric values and leaves out texts and empty ones", () => {
    expect(before).toEqual({
      Com_commit: 12,
      Innodb_buffer_pool_read_requests: 104233,
      Innodb_buffer_pool_reads: 1041,
      Innodb_data_fsyncs: 1187,
      Innodb_os_log_written: 2619904,
      Uptime: 3604,
    });
  });

  it("are the InnoDB I/O and row counters and Com_commit", () => {
    expect(innodbCounters).toHaveLength(12);
    expect(innodbCounters).toContain("Innodb_data_fsyncs");
    expect(innodbCounters).toContain("Com_commit");
  });

  it("differ by what the run did, for the counters both readings have", () => {
    const after = { ...before, Com_commit: 8746, Innodb_data_fsyncs: 19731, Innodb_os_log_written: 41882112, Innodb_rows_inserted: 8734 };
    expect(counterDeltas(before, after)).toEqual({
      Innodb_data_fsyncs: 18544,
      Innodb_os_log_written: 39262208,
      Innodb_buffer_pool_reads: 0,
      Innodb_buffer_pool_read_requests: 0,
      Com_commit: 8734,
    });
    expect(counterDeltas(before, after, ["Uptime"])).toEqual({ Uptime: 0 });
  });

  it("refuse a counter that went down: the server restarted in between", () => {
    expect(() => counterDeltas(before, { ...before, Innodb_data_fsyncs: 35 })).toThrow(
      "Innodb_data_fsyncs went down from 1187 to 35: the server restarted during the measurement (its counters start again at 0)",
    );
  });
});

describe("--expect", () => {
  it("reads a name, an operator and a number, spaces allowed around the operator", () => {
    expect(parseExpectation("fio_fsync_p99_ms<=10")).toEqual({ name: "fio_fsync_p99_ms", op: "<=", threshold: 10, text: "fio_fsync_p99_ms<=10" });
    expect(parseExpectation("sysbench_write_tps >= 1000")).toEqual({ name: "sysbench_write_tps", op: ">=", threshold: 1000, text: "sysbench_write_tps>=1000" });
    expect(parseExpectation("errors = 0").op).toBe("=");
    expect(parseExpectation("lat_ms<0.5").threshold).toBe(0.5);
    expect(parseExpectation("tps>-1").threshold).toBe(-1);
  });

  it("says what is wrong and shows the form", () => {
    const form = "(form: NAME<=NUMBER, operators <= >= < > =, e.g. --expect 'fio_fsync_p99_ms<=10')";
    expect(() => parseExpectation("fio_fsync_p99_ms")).toThrow(`--expect 'fio_fsync_p99_ms': it has no operator ${form}`);
    expect(() => parseExpectation("")).toThrow(`--expect '': it is empty ${form}`);
    expect(() => parseExpectation("Fio-p99<=10")).toThrow(`--expect 'Fio-p99<=10': the name 'Fio-p99' is not made of a-z, 0-9 and _ only ${form}`);
    expect(() => parseExpectation("<=10")).toThrow("--expect '<=10': no value is named before the operator");
    expect(() => parseExpectation("p99<=")).toThrow("--expect 'p99<=': no number follows <=");
    expect(() => parseExpectation("p99<=10ms")).toThrow("--expect 'p99<=10ms': '10ms' is not a number");
    expect(() => parseExpectation("p99=<10")).toThrow("--expect 'p99=<10': '<10' is not a number");
  });

  const values = {
    fio_fsync_p99_ms: { value: 14.2, unit: "ms" },
    fio_randread_iops: { value: 880, unit: "" },
    sysbench_write_tps: { value: "n/a", unit: "tps" },
    floor_ms: { value: NaN, unit: "ms" },
  };
  const judge = (text: string) => evaluateExpectations([parseExpectation(text)], values)[0]!;

  it("holds, quoting the value measured", () => {
    expect(evaluateExpectations([parseExpectation("fio_fsync_p99_ms<=15")], { fio_fsync_p99_ms: { value: 3.2, unit: "ms" } })).toEqual([
      { expectation: parseExpectation("fio_fsync_p99_ms<=15"), seen: 3.2, ok: true, message: "fio_fsync_p99_ms<=15 holds: 3.2 ms" },
    ]);
    expect(judge("fio_randread_iops > 500").message).toBe("fio_randread_iops>500 holds: 880");
  });

  it("is missed by how much, and how much that is of the limit", () => {
    expect(judge("fio_fsync_p99_ms<=10")).toMatchObject({
      seen: 14.2,
      ok: false,
      message: "fio_fsync_p99_ms<=10 missed by 4.2 ms (42% over): measured 14.2 ms",
    });
    expect(judge("fio_randread_iops>=1000")).toMatchObject({ ok: false, message: "fio_randread_iops>=1000 missed by 120 (12% under): measured 880" });
    expect(judge("fio_randread_iops=900").message).toBe("fio_randread_iops=900 missed by 20 (2.2% under): measured 880");
    expect(judge("fio_randread_iops<880").message).toBe("fio_randread_iops<880 missed: measured 880, the limit itself");
    expect(judge("fio_fsync_p99_ms<0").message).toBe("fio_fsync_p99_ms<0 missed by 14.2 ms: measured 14.2 ms");
  });

  it("fails when no value of that name was measured, listing the names there are", () => {
    expect(judge("fio_fsync_p99<=10")).toEqual({
      expectation: parseExpectation("fio_fsync_p99<=10"),
      ok: false,
      message: "no value named fio_fsync_p99 was measured in this run (performance values: fio_fsync_p99_ms, fio_randread_iops, sysbench_write_tps, floor_ms)",
    });
    expect(evaluateExpectations([parseExpectation("tps>1")], {})[0]!.message).toBe(
      "no value named tps was measured in this run (no performance values were measured)",
    );
  });

  it("fails when the value is not a number", () => {
    expect(judge("sysbench_write_tps>=100")).toEqual({
      expectation: parseExpectation("sysbench_write_tps>=100"),
      ok: false,
      message: 'sysbench_write_tps>=100 cannot be judged: sysbench_write_tps is "n/a", not a number',
    });
    expect(judge("floor_ms<1").message).toBe("floor_ms<1 cannot be judged: floor_ms is NaN, not a number");
  });
});

describe("the values the expectations are judged on", () => {
  const fio = { name: "fio", finished: true, values: { fio_fsync_p99_ms: { value: 0.3, unit: "ms" }, machine_load_1m_after: { value: 1.2, unit: "" } } };
  const sysbench = {
    name: "sysbench",
    finished: true,
    values: { sysbench_tps: { value: 900, unit: "tx/s" }, machine_load_1m_after: { value: 1.9, unit: "" } },
  };

  it("are what every finished check recorded, a later check's value winning for a name both recorded", () => {
    expect(measuredBy([fio, sysbench])).toEqual({
      values: { fio_fsync_p99_ms: { value: 0.3, unit: "ms" }, sysbench_tps: { value: 900, unit: "tx/s" }, machine_load_1m_after: { value: 1.9, unit: "" } },
      unfinished: [],
    });
  });

  it("name each check not finished yet, whose values are not taken", () => {
    const { values, unfinished } = measuredBy([fio, { ...sysbench, finished: false, values: {} }]);
    expect(unfinished).toEqual(["sysbench"]);
    expect(Object.keys(values)).toEqual(["fio_fsync_p99_ms", "machine_load_1m_after"]);
  });
});
