import { setTimeout as sleep } from "node:timers/promises";
import { readStorageStatus, type StorageStatus } from "../ops/status.ts";
import { growthBytesPerMinute, minutesUntilFull, type UsageSample } from "../ops/trend.ts";
import { parseCount, parseSeconds } from "./args.ts";
import { commonUsage, connectTool, parseToolArgs, print, runTool, UsageError } from "./tool.ts";

const usage = `usage: npm run storage-monitor -- [options]     (or: make storage-monitor)

Samples the storage status every --interval seconds: claim phase, pod
readiness and restarts, MySQL's usage of the claim, and its growth trend
(least squares over the samples) with the time left until the claim is full.
Warns at 80% of the claim, reports a problem at 90%. Stops after --count
samples, or on Ctrl-C, with a summary. Exits 1 when any sample had a problem.

  --interval S       seconds between samples (default 10)
  --count N          samples to take (default: until Ctrl-C)
${commonUsage}`;

const mib = (bytes: number | undefined) => (bytes === undefined ? "-" : `${(bytes / 2 ** 20).toFixed(1)} MiB`);

function line(status: StorageStatus, samples: UsageSample[]): string {
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
    ...status.warnings.map((w) => `WARNING ${w}`),
    ...status.problems.map((p) => `PROBLEM ${p}`),
  ].join("  ");
}

runTool(async () => {
  const args = parseToolArgs(process.argv.slice(2), { interval: { type: "string" }, count: { type: "string" } }, usage);
  if (args.help) {
    print(usage);
    return 0;
  }
  let interval: number;
  let count: number;
  try {
    interval = parseSeconds(String(args.interval ?? "10"), "--interval");
    count = args.count === undefined ? Infinity : parseCount(String(args.count), "--count");
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const setup = await connectTool(args);
  const { namespace } = setup;

  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  const samples: UsageSample[] = [];
  let problems = 0;
  if (!args.json) print(`monitoring MySQL's storage in namespace ${namespace} every ${interval} s${count !== Infinity ? `, ${count} samples` : " (Ctrl-C stops)"}`);
  for (let i = 0; i < count && !stop.signal.aborted; i++) {
    const started = performance.now();
    const status = await readStorageStatus(setup);
    samples.push({ at: Date.now(), usedBytes: status.usage?.usedBytes });
    if (status.problems.length) problems++;
    print(args.json ? JSON.stringify({ at: new Date().toISOString(), growthBytesPerMinute: growthBytesPerMinute(samples) ?? null, ...status }) : line(status, samples));
    if (i + 1 < count) {
      const wait = Math.max(0, interval * 1000 - (performance.now() - started));
      await sleep(wait, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  }
  if (!args.json) {
    const growth = growthBytesPerMinute(samples);
    print(`${samples.length} samples, ${problems} with problems; growth ${growth === undefined ? "not measurable (fewer than two samples)" : `${(growth / 2 ** 20).toFixed(3)} MiB/min`}`);
  }
  return problems ? 1 : 0;
});
