/**
 * storage-monitor's I/O figures, as MySQL itself counts them: the cumulative
 * counters of SHOW GLOBAL STATUS and performance_schema's timers of InnoDB's
 * file I/O, read once per sample and turned into rates and average
 * latencies over the interval between two samples. Pure: the exec that reads
 * them is `readIoSample` in status.ts.
 */

/** The SHOW GLOBAL STATUS counters read each sample. Uptime is there to recognise a restart. */
export const statusCounterNames = [
  "Uptime",
  "Innodb_data_reads",
  "Innodb_data_writes",
  "Innodb_data_fsyncs",
  "Innodb_data_read",
  "Innodb_data_written",
  "Innodb_os_log_written",
  "Com_commit",
  "Handler_commit",
] as const;
export type StatusCounterName = (typeof statusCounterNames)[number];

/** performance_schema's totals over `wait/io/file/innodb/%`: operation counts, and timers in picoseconds. */
export interface FileIoTimers {
  reads: number;
  readPs: number;
  writes: number;
  writePs: number;
  /** MISC: fsyncs mostly, also opens, closes and stats of InnoDB's files. */
  misc: number;
  miscPs: number;
}

/** One reading of MySQL's counters. Numbers are doubles: exact below 2^53, and a picosecond timer past that is off by nanoseconds at most. */
export interface IoCounters {
  status: Partial<Record<StatusCounterName, number>>;
  /** null when performance_schema is off or its table cannot be read; `fileIoUnavailable` says which. */
  fileIo: FileIoTimers | null;
  fileIoUnavailable?: string;
}

/** What one sample got: the counters, or why MySQL could not be asked, in a few words. */
export type IoReading = { counters: IoCounters } | { unreachable: string };

/** Labels the performance_schema row in the client's output, apart from SHOW GLOBAL STATUS's name/value rows. */
const timersLabel = "innodb_file_io";

/**
 * The two statements of one sample, for one `mysql -N -B -e` invocation.
 * SHOW GLOBAL STATUS comes first: when the performance_schema statement fails
 * (no such table), the client has already printed the counters.
 */
export const ioCountersSql =
  `SHOW GLOBAL STATUS WHERE Variable_name IN (${statusCounterNames.map((n) => `'${n}'`).join(",")}); ` +
  `SELECT '${timersLabel}', @@GLOBAL.performance_schema, SUM(COUNT_READ), SUM(SUM_TIMER_READ), SUM(COUNT_WRITE), SUM(SUM_TIMER_WRITE), SUM(COUNT_MISC), SUM(SUM_TIMER_MISC) ` +
  `FROM performance_schema.file_summary_by_event_name WHERE EVENT_NAME LIKE 'wait/io/file/innodb/%';`;

/** `ERROR 1146 (42S02) at line 1: Table ... doesn't exist` as `ERROR 1146: Table ... doesn't exist`, shortened. */
function shortError(stderr: string): string | undefined {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !/\[Warning\]/.test(l));
  const error = lines.find((l) => /^ERROR \d+/.test(l));
  const text = error ? error.replace(/^ERROR (\d+) \([^)]*\)(?: at line \d+)?:\s*/, "ERROR $1: ") : lines[0];
  if (text === undefined) return undefined;
  return text.length > 100 ? `${text.slice(0, 99)}…` : text;
}

/** Why the performance_schema statement printed no row, from the client's stderr. */
function timersUnavailable(stderr: string): string {
  if (/ERROR 1146\b/.test(stderr)) return "performance_schema.file_summary_by_event_name absent";
  if (/ERROR 1193\b/.test(stderr)) return "no performance_schema in this server";
  const error = shortError(stderr);
  return error ? `performance_schema not readable: ${error}` : "performance_schema gave no answer";
}

/**
 * The counters in the output of `mysql -N -B -e ioCountersSql` (tab-separated,
 * NULL for SQL NULL). With performance_schema OFF its tables are empty and the
 * sums are NULL; with it ON and nothing timed yet they are NULL too, which is
 * zero operations.
 */
export function parseIoCounters(stdout: string, stderr = ""): IoCounters {
  const status: IoCounters["status"] = {};
  let fileIo: FileIoTimers | null = null;
  let fileIoUnavailable: string | undefined;
  let timersRow = false;
  for (const line of stdout.split("\n")) {
    const fields = line.replace(/\r$/, "").split("\t");
    if (fields[0] === timersLabel && fields.length === 8) {
      timersRow = true;
      if (fields[1] !== "1" && fields[1]?.toUpperCase() !== "ON") {
        fileIoUnavailable = "performance_schema off";
        continue;
      }
      const values = fields.slice(2).map((v) => (v === "NULL" ? 0 : Number(v)));
      if (!values.every((v) => Number.isFinite(v) && v >= 0)) {
        fileIoUnavailable = `unexpected performance_schema row ${JSON.stringify(line.slice(0, 80))}`;
        continue;
      }
      const [reads, readPs, writes, writePs, misc, miscPs] = values as [number, number, number, number, number, number];
      fileIo = { reads, readPs, writes, writePs, misc, miscPs };
    } else if (fields.length === 2 && (statusCounterNames as readonly string[]).includes(fields[0]!)) {
      const value = Number(fields[1]);
      if (fields[1] !== "" && Number.isFinite(value)) status[fields[0] as StatusCounterName] = value;
    }
  }
  if (!timersRow) fileIoUnavailable = timersUnavailable(stderr);
  return { status, fileIo, ...(fileIoUnavailable !== undefined ? { fileIoUnavailable } : {}) };
}

/**
 * One sample's reading from the client's exit code and output: counters when
 * SHOW GLOBAL STATUS answered (even when the performance_schema statement
 * then failed and the client exited 1), else why MySQL was not reachable.
 */
export function interpretIoQuery(result: { exitCode: number; stdout: string; stderr: string }): IoReading {
  const counters = parseIoCounters(result.stdout, result.stderr);
  if (counters.status.Uptime !== undefined) return { counters };
  if (result.exitCode === 127) return { unreachable: "no mysql client in the container" };
  const error = shortError(result.stderr);
  if (result.exitCode === 0) return { unreachable: `MySQL answered no status counters${error ? ` (${error})` : ""}` };
  return { unreachable: `MySQL unreachable (${error ?? `the client exited ${result.exitCode}`})` };
}

export interface IoRates {
  readsPerSecond?: number;
  writesPerSecond?: number;
  fsyncsPerSecond?: number;
  readMiBPerSecond?: number;
  writtenMiBPerSecond?: number;
  redoMiBPerSecond?: number;
  /** COMMIT statements (Com_commit); a statement in autocommit mode is not one. */
  commitsPerSecond?: number;
  /** Commits inside the server (Handler_commit): autocommit statements too, reads included. */
  handlerCommitsPerSecond?: number;
  /** Average time of one InnoDB file operation over the interval, where the interval had some. */
  readLatencyMs?: number;
  writeLatencyMs?: number;
  /** performance_schema's MISC operations: fsyncs mostly (also opens, closes, stats). */
  fsyncLatencyMs?: number;
  latencySource: "performance_schema" | null;
  /** Why the interval has no rates (or no latencies), when it has none. */
  note?: string;
}

export const countersReset = "counters reset (server restarted)";
export const timersReset = "performance_schema counters reset";

const mib = 2 ** 20;

/**
 * Rates and average latencies between two readings `elapsedMs` apart. A
 * counter that went down means another server answered (a restart, a new
 * pod): that interval has no rates, never negative ones.
 */
export function ioRates(previous: IoCounters, current: IoCounters, elapsedMs: number): IoRates {
  const timers = previous.fileIo && current.fileIo ? { before: previous.fileIo, after: current.fileIo } : undefined;
  const latencySource = timers ? "performance_schema" : null;
  if (!(elapsedMs > 0)) return { latencySource, note: "no time between the samples" };
  const statusDown = statusCounterNames.some((n) => (current.status[n] ?? Infinity) < (previous.status[n] ?? -Infinity));
  if (statusDown) return { latencySource, note: countersReset };
  const seconds = elapsedMs / 1000;
  const perSecond = (name: StatusCounterName, unit = 1): number | undefined => {
    const [before, after] = [previous.status[name], current.status[name]];
    return before === undefined || after === undefined ? undefined : (after - before) / unit / seconds;
  };
  const rates: IoRates = {
    readsPerSecond: perSecond("Innodb_data_reads"),
    writesPerSecond: perSecond("Innodb_data_writes"),
    fsyncsPerSecond: perSecond("Innodb_data_fsyncs"),
    readMiBPerSecond: perSecond("Innodb_data_read", mib),
    writtenMiBPerSecond: perSecond("Innodb_data_written", mib),
    redoMiBPerSecond: perSecond("Innodb_os_log_written", mib),
    commitsPerSecond: perSecond("Com_commit"),
    handlerCommitsPerSecond: perSecond("Handler_commit"),
    latencySource,
  };
  if (!timers) return rates;
  const { before, after } = timers;
  // TRUNCATE TABLE of the summary resets the timers alone: the status rates above still hold.
  if ((Object.keys(after) as (keyof FileIoTimers)[]).some((k) => after[k] < before[k])) return { ...rates, note: timersReset };
  const latency = (count: "reads" | "writes" | "misc", timer: "readPs" | "writePs" | "miscPs"): number | undefined => {
    const operations = after[count] - before[count];
    return operations > 0 ? (after[timer] - before[timer]) / operations / 1e9 : undefined;
  };
  return { ...rates, readLatencyMs: latency("reads", "readPs"), writeLatencyMs: latency("writes", "writePs"), fsyncLatencyMs: latency("misc", "miscPs") };
}

/** What storage-monitor shows of I/O for one sample. */
export interface IoFigures {
  /** Why this sample has no counters (MySQL unreachable, pod not Ready). */
  unavailable?: string;
  counters?: IoCounters;
  /** Against the last sample that had counters; absent on the first one. */
  rates?: IoRates;
  intervalMs?: number;
}

/** A sample's figures, against the last earlier sample that had counters (`previous`, when there was one). */
export function ioFigures(previous: { atMs: number; counters: IoCounters } | undefined, current: { atMs: number; reading: IoReading }): IoFigures {
  if ("unreachable" in current.reading) return { unavailable: current.reading.unreachable };
  const { counters } = current.reading;
  if (!previous) return { counters };
  const intervalMs = current.atMs - previous.atMs;
  return { counters, rates: ioRates(previous.counters, counters, intervalMs), intervalMs };
}

const fixed = (value: number | undefined, digits: number) => (value === undefined ? "-" : value.toFixed(digits));

/** The I/O part of storage-monitor's status line. */
export function formatIo(figures: IoFigures): string {
  if (figures.unavailable !== undefined) return `io n/a: ${figures.unavailable}`;
  const r = figures.rates;
  if (!r) return "io first sample (rates from the next one)";
  if (r.note === countersReset || r.note === "no time between the samples") return `io ${r.note}: no rates this interval`;
  const latency = r.latencySource
    ? r.note === timersReset
      ? `latency n/a (${timersReset})`
      : `lat r ${fixed(r.readLatencyMs, 2)} w ${fixed(r.writeLatencyMs, 2)} fsync ${fixed(r.fsyncLatencyMs, 2)} ms`
    : `latency n/a (${figures.counters?.fileIoUnavailable ?? "performance_schema off"})`;
  return [
    `io ${fixed(r.readsPerSecond, 1)} r/s ${fixed(r.writesPerSecond, 1)} w/s ${fixed(r.fsyncsPerSecond, 1)} fsync/s`,
    `read ${fixed(r.readMiBPerSecond, 2)} written ${fixed(r.writtenMiBPerSecond, 2)} redo ${fixed(r.redoMiBPerSecond, 2)} MiB/s`,
    `${fixed(r.commitsPerSecond, 1)} commit/s`,
    latency,
  ].join(", ");
}

const rounded = (value: number | undefined, digits: number): number | null => (value === undefined ? null : +value.toFixed(digits));

/** The `io` object of storage-monitor's --json: null where a figure is unknown, and the raw counters. */
export function ioJson(figures: IoFigures) {
  const r = figures.rates;
  return {
    intervalMs: figures.intervalMs ?? null,
    readsPerSecond: rounded(r?.readsPerSecond, 3),
    writesPerSecond: rounded(r?.writesPerSecond, 3),
    fsyncsPerSecond: rounded(r?.fsyncsPerSecond, 3),
    readMiBPerSecond: rounded(r?.readMiBPerSecond, 4),
    writtenMiBPerSecond: rounded(r?.writtenMiBPerSecond, 4),
    redoMiBPerSecond: rounded(r?.redoMiBPerSecond, 4),
    commitsPerSecond: rounded(r?.commitsPerSecond, 3),
    handlerCommitsPerSecond: rounded(r?.handlerCommitsPerSecond, 3),
    readLatencyMs: rounded(r?.readLatencyMs, 4),
    writeLatencyMs: rounded(r?.writeLatencyMs, 4),
    fsyncLatencyMs: rounded(r?.fsyncLatencyMs, 4),
    latencySource: r ? r.latencySource : figures.counters?.fileIo ? ("performance_schema" as const) : null,
    latencyUnavailable: figures.counters?.fileIoUnavailable ?? null,
    note: r?.note ?? (figures.counters && !r ? "first sample: rates from the next one" : null),
    unavailable: figures.unavailable ?? null,
    counters: figures.counters ? { status: figures.counters.status, performanceSchema: figures.counters.fileIo } : null,
  };
}
