import { setTimeout as sleep } from "node:timers/promises";
import { formatIo, ioFigures, ioJson, type IoCounters, type IoFigures } from "../../ops/io-rates.ts";
import { readIoSample, readStorageStatus, type StorageStatus } from "../../ops/status.ts";
import { growthBytesPerMinute, minutesUntilFull, type UsageSample } from "../../ops/trend.ts";
import { parseCount, parseOptions, parseSeconds } from "../args.ts";
import type { Command } from "../command.ts";
import { clusterOptions, clusterOptionsOf, clusterUsage, connectTool, toolSettings } from "../tool.ts";

const usage = `usage: storage-conformance storage-monitor [options]
       (npm run storage-monitor -- [options], make storage-monitor ARGS="...")

Samples the storage status every --interval seconds: claim phase, pod
readiness and restarts, MySQL's usage of the claim, and its growth trend
(least squares over the samples) with the time left until the claim is full.
Warns at 80% of the claim, reports a problem at 90%. Stops after --count
samples, or on Ctrl-C, with a summary. A sample with a problem is a failed check.

I/O as MySQL counts it, over the interval since the previous sample (the
first sample has none): InnoDB's data file reads, writes and fsyncs per
second, MiB/s read, written and of redo log, COMMIT statements per second
(SHOW GLOBAL STATUS), and the average latency of a read, a write and an
fsync (performance_schema's timers of InnoDB's files; "fsync" is their MISC
operations: fsyncs mostly, opens and closes too). Without performance_schema
(MariaDB's default) the line says "latency n/a". A counter that went down
means the server restarted: that interval has no rates. When MySQL cannot
be asked, the line says why and the rest of the sample still prints.
  12:00:10  ...  io 12.0 r/s 340.5 w/s 98.0 fsync/s, read 0.19 written 5.32
  redo 1.20 MiB/s, 40.0 commit/s, lat r 0.21 w 0.05 fsync 1.80 ms
With --output-format json, one JSON object per sample and line, with an "io"
object: the same figures (null where unknown), latencySource
("performance_schema" or null) and the raw counters.

  --interval S       seconds between samples (default 10)
  --count N          samples to take (default: until Ctrl-C)
${clusterUsage}`;

const mib = (bytes: number | undefined) => (bytes === undefined ? "-" : `${(bytes / 2 ** 20).toFixed(1)} MiB`);

function line(status: StorageStatus, samples: UsageSample[], io: IoFigures): string {
  const phase = "phase" in status.claim ? status.claim.phase : "missing";
  const growth = growthBytesPerMinute(samples);
  const u = status.usage;
  const left = u?.claimBytes !== undefined ? minutesUntilFull(u.usedBytes, u.claimBytes, growth) : undefined;
  return [
    new Date().toISOString().slice(11, 19),
    `claim ${phase}`,
    `pod ${status.pod ? `${status.pod.ready ? "Ready" : status.pod.phase} (${status.pod.restarts} restarts)` : "none"}`,
    `used ${mib(u?.usedBytes)}${u?.percentOfClaim !== undefined ? ` (${u.percentOfClaim}% of claim)` : ""}`,
    `growth ${growth === undefined ? "-" : `${(growth / 2 ** 20).toFixed(2)} MiB/min`}`,
    ...(left !== undefined ? [`full in ${left > 1440 ? `${(left / 1440).toFixed(1)} d` : `${left.toFixed(0)} min`}`] : []),
    formatIo(io),
    ...status.warnings.map((w) => `WARNING ${w}`),
    ...status.problems.map((p) => `PROBLEM ${p}`),
  ].join("  ");
}

export const storageMonitor: Command = {
  name: "storage-monitor",
  summary: "samples the status and MySQL's I/O every few seconds, with the growth trend",
  usage,
  async run(argv, io) {
    const values = parseOptions(argv, { ...clusterOptions, interval: { type: "string" }, count: { type: "string" } }, "storage-monitor");
    if (values.help) {
      io.out(usage);
      return 0;
    }
    const options = clusterOptionsOf(values);
    io.format = options.format;
    const interval = parseSeconds(values.interval ?? "10", "--interval");
    const count = values.count === undefined ? Infinity : parseCount(values.count, "--count");
    const setup = await connectTool(options, toolSettings());
    const { namespace } = setup;
    const json = options.format === "json";

    const stop = new AbortController();
    process.once("SIGINT", () => stop.abort());
    const samples: UsageSample[] = [];
    // The last sample that had counters: after one without, rates span both intervals.
    let lastIo: { atMs: number; counters: IoCounters } | undefined;
    let problems = 0;
    if (!json)
      io.out(`monitoring MySQL's storage in namespace ${namespace} every ${interval} s${count !== Infinity ? `, ${count} samples` : " (Ctrl-C stops)"}`);
    for (let i = 0; i < count && !stop.signal.aborted; i++) {
      const started = performance.now();
      const status = await readStorageStatus(setup);
      samples.push({ at: Date.now(), usedBytes: status.usage?.usedBytes });
      const reading = await readIoSample(setup, status);
      const atMs = performance.now();
      const figures = ioFigures(lastIo, { atMs, reading });
      if ("counters" in reading) lastIo = { atMs, counters: reading.counters };
      if (status.problems.length) problems++;
      io.out(
        json
          ? JSON.stringify({ at: new Date().toISOString(), growthBytesPerMinute: growthBytesPerMinute(samples) ?? null, ...status, io: ioJson(figures) })
          : line(status, samples, figures),
      );
      if (i + 1 < count) {
        const wait = Math.max(0, interval * 1000 - (performance.now() - started));
        await sleep(wait, undefined, { signal: stop.signal }).catch(() => undefined);
      }
    }
    if (!json) {
      const growth = growthBytesPerMinute(samples);
      io.out(
        `${samples.length} samples, ${problems} with problems; growth ${growth === undefined ? "not measurable (fewer than two samples)" : `${(growth / 2 ** 20).toFixed(3)} MiB/min`}`,
      );
    }
    return problems ? 1 : 0;
  },
};
