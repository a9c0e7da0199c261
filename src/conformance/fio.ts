// fio jobs of the performance suite and the reading of fio's JSON output.
// Pure: the suite runs the binary in a pod and hands the text here.

import { constants as osConstants } from "node:os";

export type FioJobName = "randread" | "randwrite" | "seqwrite" | "fsync";

export interface FioJob {
  name: FioJobName;
  description: string;
  /** Arguments for the fio binary, ending with --output-format=json. */
  args: string[];
}

/**
 * The four jobs, each writing in `dir` for `runtimeS` seconds. Each job names
 * its file, so repeats reuse the laid-out file instead of writing it anew;
 * randread and randwrite share theirs.
 */
export function fioJobs(dir: string, runtimeS: number): FioJob[] {
  const common = (name: FioJobName, file: string) => [
    `--name=${name}`,
    `--directory=${dir}`,
    `--filename=sc-fio-${file}`,
    "--time_based",
    `--runtime=${runtimeS}`,
    "--ramp_time=0",
    "--randrepeat=0",
    "--percentile_list=50:99:99.9",
  ];
  const json = "--output-format=json";
  const random = ["--bs=4k", "--ioengine=libaio", "--iodepth=16", "--direct=1", "--size=64m"];
  return [
    {
      name: "randread",
      description: "4 KiB random reads, 16 in flight, bypassing the page cache",
      args: [...common("randread", "rand"), "--rw=randread", ...random, json],
    },
    {
      name: "randwrite",
      description: "4 KiB random writes, 16 in flight, bypassing the page cache",
      args: [...common("randwrite", "rand"), "--rw=randwrite", ...random, json],
    },
    {
      name: "seqwrite",
      description: "1 MiB sequential writes, 4 in flight, bypassing the page cache",
      args: [...common("seqwrite", "seq"), "--rw=write", "--bs=1m", "--ioengine=libaio", "--iodepth=4", "--direct=1", "--size=64m", json],
    },
    {
      // InnoDB's redo log: small appends, each made durable before the commit returns.
      name: "fsync",
      description: "16 KiB sequential writes, each followed by fdatasync (InnoDB's redo log pattern)",
      args: [...common("fsync", "sync"), "--rw=write", "--bs=16k", "--ioengine=sync", "--fdatasync=1", "--size=16m", json],
    },
  ];
}

export interface FioResult {
  job: FioJobName;
  iops: number;
  /** Bytes a second of the side that moved data, in millions (MB/s, not MiB/s). */
  mbPerS: number;
  /** fsync: the fdatasync latency; the others: completion latency (clat), submission to completion. */
  latP50Ms: number;
  latP99Ms: number;
  latP999Ms: number;
}

/** A lookup into parsed JSON that names the path it failed at. */
function at(value: unknown, path: (string | number)[]): unknown {
  let here = value;
  for (const key of path) {
    if (here === null || typeof here !== "object") return undefined;
    here = (here as Record<string | number, unknown>)[key];
  }
  return here;
}

const pathText = (path: (string | number)[]) =>
  path
    .map((k) => (typeof k === "number" ? `[${k}]` : `.${k}`))
    .join("")
    .slice(1);

/** errno 22 -> "EINVAL", for fio's `error` field. */
function errnoName(code: number): string | undefined {
  return Object.entries(osConstants.errno).find(([, value]) => value === code)?.[0];
}

/**
 * One fio job's result from its `--output-format=json` output. Lines fio prints
 * before the JSON ("fio: ..." warnings and errors) are skipped; a job that
 * failed, or output that is cut short, is an Error naming the job.
 */
export function parseFioJson(job: FioJobName, text: string): FioResult {
  const fail = (why: string) => new Error(`fio ${job}: ${why}; its output began: ${JSON.stringify(text.slice(0, 300))}`);
  const start = text.indexOf("{");
  if (start < 0) throw fail("printed no JSON");
  let parsed: unknown;
  try {
    // fio can print warnings after the JSON too ("fio: file hash not empty on exit").
    parsed = JSON.parse(text.slice(start, text.lastIndexOf("}") + 1));
  } catch (error) {
    throw fail(`the output is not complete JSON (${(error as Error).message}): fio was cut short or its output truncated`);
  }
  const jobName = at(parsed, ["jobs", 0, "jobname"]);
  if (jobName === undefined) throw fail("the JSON has no jobs[0].jobname");
  if (jobName !== job) throw fail(`the JSON is the output of job ${String(jobName)}, not ${job}`);
  const error = at(parsed, ["jobs", 0, "error"]);
  if (typeof error === "number" && error !== 0) {
    const name = errnoName(error);
    throw fail(`the job failed with error ${error}${name ? ` (${name})` : ""}`);
  }

  const number = (path: (string | number)[]): number => {
    const value = at(parsed, path);
    if (typeof value !== "number" || !Number.isFinite(value)) throw fail(`no number at ${pathText(path)}`);
    return value;
  };
  // randread moves data on the read side, the writing jobs on the write side.
  const side = (["read", "write"] as const)
    .map((name) => ({ name, bytes: number(["jobs", 0, name, "io_bytes"]) }))
    .reduce((a, b) => (b.bytes > a.bytes ? b : a));
  if (side.bytes === 0) throw fail("the job moved no data (read and write io_bytes are 0)");

  // fio's percentile keys are printf'd with %f: "50.000000", "99.900000".
  const latencyBase = job === "fsync" ? ["jobs", 0, "sync", "lat_ns", "percentile"] : ["jobs", 0, side.name, "clat_ns", "percentile"];
  const percentileMs = (p: number): number => {
    const percentiles = at(parsed, latencyBase);
    if (percentiles === null || typeof percentiles !== "object") {
      throw fail(`no latency percentiles at ${pathText(latencyBase)}${job === "fsync" ? " (fio reports fdatasync latency there only with --fdatasync)" : ""}`);
    }
    const key = Object.keys(percentiles).find((k) => Number(k) === p);
    if (key === undefined)
      throw fail(`no ${p}th percentile at ${pathText(latencyBase)} (keys: ${Object.keys(percentiles).join(", ")}; is --percentile_list=50:99:99.9 given?)`);
    return number([...latencyBase, key]) / 1e6;
  };
  return {
    job,
    iops: number(["jobs", 0, side.name, "iops"]),
    mbPerS: number(["jobs", 0, side.name, "bw_bytes"]) / 1e6,
    latP50Ms: percentileMs(50),
    latP99Ms: percentileMs(99),
    latP999Ms: percentileMs(99.9),
  };
}
