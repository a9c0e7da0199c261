import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fioJobs, parseFioJson, type FioJobName } from "../../src/conformance/fio.ts";
import { perfProfile, perfProfiles, spread } from "../../src/conformance/perf-profile.ts";
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
