import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fioJobs, parseFioJson, type FioJobName } from "../../src/conformance/fio.ts";
import { perfProfile, perfProfiles, spread } from "../../src/conformance/perf-profile.ts";
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
    expect(jobs.every((j) => j.args.at(-1) === "--output-format=json")).toBe(true);
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
      "--name=randread", "--directory=/var/lib/mysql/sc-perf", "--filename=sc-fio-rand", "--time_based", "--runtime=10", "--ramp_time=0",
      "--randrepeat=0", "--percentile_list=50:99:99.9", "--rw=randread", "--bs=4k", "--ioengine=libaio", "--iodepth=16", "--direct=1",
      "--size=64m", "--output-format=json",
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
    expect(parse("randwrite")).toEqual({ job: "randwrite", iops: 58606.393606, mbPerS: 240.051788, latP50Ms: 0.201728, latP99Ms: 0.610304, latP999Ms: 25.55904 });
  });

  it("gives seqwrite's from the write side", () => {
    expect(parse("seqwrite")).toEqual({ job: "seqwrite", iops: 629.850746, mbPerS: 660.446376, latP50Ms: 6.127616, latP99Ms: 11.337728, latP999Ms: 15.269888 });
  });

  it("gives fsync's latencies from the fdatasync percentiles (jobs[0].sync.lat_ns), not the writes' own", () => {
    expect(parse("fsync")).toEqual({ job: "fsync", iops: 4992.007992, mbPerS: 81.789058, latP50Ms: 0.154624, latP99Ms: 0.370688, latP999Ms: 1.236992 });
  });

  it("skips fio's warnings printed before the JSON", () => {
    const warned = "fio: this platform does not support process shared mutexes, forcing use of threads. Use the 'thread' option to get rid of this warning.\n" + fixture("fio/randread.json");
    expect(parseFioJson("randread", warned).iops).toBe(77294.705295);
  });

  it("names a job that failed, with its errno and fio's own line (real output: randwrite pointed at /dev/full)", () => {
    expect(() => parseFioJson("randwrite", fixture("fio/randwrite-error.txt"))).toThrow(
      'fio randwrite: the job failed with error 22 (EINVAL); its output began: "fio: pid=3639, err=22/file:ioengines.c:496, func=io commit, error=Invalid argument\\n{',
    );
  });

  it("names output cut short as incomplete JSON", () => {
    const text = fixture("fio/fsync.json");
    expect(() => parseFioJson("fsync", text.slice(0, 2000))).toThrow(/^fio fsync: the output is not complete JSON \(.+\): fio was cut short or its output truncated; its output began: "\{\\n  \\"fio version\\" : \\"fio-3\.33\\",/);
  });

  it("names output with no JSON at all, and the output of another job", () => {
    expect(() => parseFioJson("seqwrite", "fio: failed parsing runtime=x\n")).toThrow('fio seqwrite: printed no JSON; its output began: "fio: failed parsing runtime=x\\n"');
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
      workload: "oltp_write_only", transactions: 8734, tps: 291.1, qps: 1746.62, p95Ms: 20.37, errors: 0, reconnects: 0, timeS: 30.0031,
    });
  });

  it("reads the final report past the interval lines of --report-interval", () => {
    expect(parseSysbench("oltp_read_write", fixture("sysbench/oltp_read_write.txt"))).toEqual({
      workload: "oltp_read_write", transactions: 5893, tps: 196.34, qps: 3927.54, p95Ms: 30.26, errors: 3, reconnects: 0, timeS: 30.0147,
    });
  });

  it("names the missing line and shows the end of a run that never connected", () => {
    expect(() => parseSysbench("oltp_write_only", fixture("sysbench/connect-failed.txt"))).toThrow(
      /^sysbench oltp_write_only: the report has no "transactions: N \(X per sec\.\)" line \(did the run finish\?\); its output ended: ".*FATAL: Thread initialization failed!\\n"$/,
    );
  });

  it("names a report cut off before its latencies", () => {
    const text = fixture("sysbench/oltp_write_only.txt");
    expect(() => parseSysbench("oltp_write_only", text.slice(0, text.indexOf("Latency (ms):")))).toThrow(/the report has no "95th percentile: X \(under Latency \(ms\):\)" line/);
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
      Com_commit: 12, Innodb_buffer_pool_read_requests: 104233, Innodb_buffer_pool_reads: 1041, Innodb_data_fsyncs: 1187, Innodb_os_log_written: 2619904, Uptime: 3604,
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
      Innodb_data_fsyncs: 18544, Innodb_os_log_written: 39262208, Innodb_buffer_pool_reads: 0, Innodb_buffer_pool_read_requests: 0, Com_commit: 8734,
    });
    expect(counterDeltas(before, after, ["Uptime"])).toEqual({ Uptime: 0 });
  });

  it("refuse a counter that went down: the server restarted in between", () => {
    expect(() => counterDeltas(before, { ...before, Innodb_data_fsyncs: 35 })).toThrow(
      "Innodb_data_fsyncs went down from 1187 to 35: the server restarted during the measurement (its counters start again at 0)",
    );
  });
});
