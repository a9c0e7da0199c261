// The ledger verdict: the writer's record of every commit (images/writer, one
// JSON line each) against the rows found after recovery. Pure: no I/O.
import { crc32 } from "node:zlib";
import type { LedgerRow } from "./table.ts";
import type { DurabilityRisk } from "./durability.ts";
import { percentile } from "../recovery/phases.ts";

/** ack: COMMIT returned OK. fail: the error came before COMMIT was sent. indoubt: COMMIT sent, no OK came back. */
export type CommitState = "ack" | "fail" | "indoubt";

/** One commit as the writer recorded it, before sending the next on its connection. */
export interface CommitRecord {
  writer: number;
  seq: number;
  state: CommitState;
  /** When BEGIN was sent and when the commit's outcome was known (Unix ms, the writer's clock). */
  tSendMs: number;
  tDoneMs: number;
  crc: number;
  /** hostname@start of the server the connection reached. */
  server?: string;
  err?: string;
}

/** The writer's other lines: start, connected, reconnect, summary, stop. */
export interface WriterEvent {
  event: string;
  tMs: number;
  writer?: number;
  server?: string;
  err?: string;
}

export interface WriterLog {
  commits: CommitRecord[];
  events: WriterEvent[];
  /** The writer's "stop" line was seen: it ended between commits and recorded every one. */
  complete: boolean;
  /** Lines that are not the writer's JSON (stderr merged into the pod log), the cut last line excluded. */
  otherLines: string[];
}

const states = new Set<string>(["ack", "fail", "indoubt"]);

/**
 * Parses the writer's output. A last line without its newline is a line the
 * writer was cut off in: it is ignored unless it parses.
 */
export function parseWriterLog(text: string): WriterLog {
  const log: WriterLog = { commits: [], events: [], complete: false, otherLines: [] };
  const lines = text.split("\n");
  const cut = lines.pop() ?? "";
  for (const [i, line] of [...lines, cut].entries()) {
    if (line.trim() === "") continue;
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      if (i < lines.length) log.otherLines.push(line);
      continue;
    }
    if (typeof parsed.state === "string" && states.has(parsed.state)) {
      log.commits.push({
        writer: Number(parsed.w),
        seq: Number(parsed.seq),
        state: parsed.state as CommitState,
        tSendMs: Number(parsed.t_send),
        tDoneMs: Number(parsed.t_done),
        crc: Number(parsed.crc),
        ...(typeof parsed.srv === "string" ? { server: parsed.srv } : {}),
        ...(typeof parsed.err === "string" ? { err: parsed.err } : {}),
      });
    } else if (typeof parsed.event === "string") {
      const { event, t, w, srv, err } = parsed as { event: string; t: number; w?: number; srv?: string; err?: string };
      log.events.push({ event, tMs: Number(t), ...(w !== undefined ? { writer: w } : {}), ...(srv ? { server: srv } : {}), ...(err ? { err } : {}) });
      if (event === "stop") log.complete = true;
    } else if (i < lines.length) {
      log.otherLines.push(line);
    }
  }
  return log;
}

const key = (writer: number, seq: number): string => `${writer}/${seq}`;

export interface CorruptedRow {
  row: LedgerRow;
  reason: string;
  record?: CommitRecord;
}

export interface LedgerVerdict {
  acknowledged: number;
  failed: number;
  /** Every in-doubt commit, and which of them were found. Both outcomes are allowed. */
  inDoubtPresent: CommitRecord[];
  inDoubtAbsent: CommitRecord[];
  /** Acknowledged, and not in the table. */
  lost: CommitRecord[];
  /** Recorded as failed (COMMIT never sent), yet in the table. */
  failedButPresent: CommitRecord[];
  /** In the table, and never recorded as sent. */
  phantom: LedgerRow[];
  /** writer+seq found more than once. */
  duplicated: { writer: number; seq: number; rows: number; record?: CommitRecord; ids?: number[]; servers?: string[] }[];
  corrupted: CorruptedRow[];
  /** The writer was cut off: each connection's commit after its last record is in doubt, not phantom. */
  unrecordedPresent: LedgerRow[];
  /** lost + failedButPresent + phantom + duplicated + corrupted: the check fails when above 0. */
  violations: number;
}

/**
 * Classifies every commit the writer recorded and every row of its run.
 * `run` is the writer's -run: each row's payload starts with run:writer:seq:.
 * Throws when the log holds one commit twice (two writers shared a run id).
 */
export function verifyLedger(log: WriterLog, rows: LedgerRow[], run: string): LedgerVerdict {
  const records = new Map<string, CommitRecord>();
  for (const c of log.commits) {
    // Two writer processes with one -run would share sequence numbers and make every verdict wrong.
    if (records.has(key(c.writer, c.seq))) throw new Error(`writer ${c.writer} seq ${c.seq} was recorded twice: each writer process needs its own -run`);
    records.set(key(c.writer, c.seq), c);
  }
  const rowsByKey = new Map<string, LedgerRow[]>();
  for (const r of rows) rowsByKey.set(key(r.writer, r.seq), [...(rowsByKey.get(key(r.writer, r.seq)) ?? []), r]);
  const lastSeq = new Map<number, number>();
  for (const c of log.commits) lastSeq.set(c.writer, Math.max(lastSeq.get(c.writer) ?? 0, c.seq));

  const verdict: LedgerVerdict = {
    acknowledged: 0,
    failed: 0,
    inDoubtPresent: [],
    inDoubtAbsent: [],
    lost: [],
    failedButPresent: [],
    phantom: [],
    duplicated: [],
    corrupted: [],
    unrecordedPresent: [],
    violations: 0,
  };
  for (const c of records.values()) {
    const present = rowsByKey.has(key(c.writer, c.seq));
    if (c.state === "ack") {
      verdict.acknowledged++;
      if (!present) verdict.lost.push(c);
    } else if (c.state === "fail") {
      verdict.failed++;
      if (present) verdict.failedButPresent.push(c);
    } else (present ? verdict.inDoubtPresent : verdict.inDoubtAbsent).push(c);
  }
  for (const [k, found] of rowsByKey) {
    const first = found[0]!;
    const record = records.get(k);
    if (!record) {
      // A writer killed mid-commit never recorded it: in doubt, as Jepsen treats a crashed client's operation.
      if (!log.complete && first.seq === (lastSeq.get(first.writer) ?? 0) + 1) verdict.unrecordedPresent.push(first);
      else verdict.phantom.push(first);
    }
    if (found.length > 1)
      verdict.duplicated.push({
        writer: first.writer,
        seq: first.seq,
        rows: found.length,
        ...(record ? { record } : {}),
        ...(found.every((r) => r.id !== undefined) ? { ids: found.map((r) => r.id!) } : {}),
        servers: [...new Set(found.map((r) => r.serverIdentity))],
      });
    for (const row of found) {
      const reason = corruption(row, run, record);
      if (reason) verdict.corrupted.push({ row, reason, ...(record ? { record } : {}) });
    }
  }
  const bySeq = <T extends { writer: number; seq: number }>(a: T, b: T) => a.writer - b.writer || a.seq - b.seq;
  for (const list of [verdict.lost, verdict.failedButPresent, verdict.phantom, verdict.duplicated, verdict.inDoubtPresent, verdict.inDoubtAbsent])
    list.sort(bySeq);
  verdict.corrupted.sort((a, b) => bySeq(a.row, b.row));
  verdict.violations = verdict.lost.length + verdict.failedButPresent.length + verdict.phantom.length + verdict.duplicated.length + verdict.corrupted.length;
  return verdict;
}

function corruption(row: LedgerRow, run: string, record: CommitRecord | undefined): string | undefined {
  const crc = crc32(row.payload) >>> 0;
  if (crc !== row.payloadCrc) return `payload checksum ${crc} differs from the stored ${row.payloadCrc}`;
  if (!row.payload.startsWith(`${run}:${row.writer}:${row.seq}:`)) return `payload "${row.payload.slice(0, 40)}" belongs to another row`;
  if (record && record.crc !== row.payloadCrc) return `stored checksum ${row.payloadCrc} differs from the one sent, ${record.crc}`;
  return undefined;
}

/** The figures of one verdict, named as in results.json. */
export function ledgerFigures(verdict: LedgerVerdict): Record<string, number> {
  return {
    ledger_acknowledged: verdict.acknowledged,
    ledger_lost: verdict.lost.length,
    ledger_failed: verdict.failed,
    ledger_in_doubt: verdict.inDoubtPresent.length + verdict.inDoubtAbsent.length + verdict.unrecordedPresent.length,
    ledger_in_doubt_present: verdict.inDoubtPresent.length + verdict.unrecordedPresent.length,
    ledger_phantom: verdict.phantom.length,
    ledger_duplicated: verdict.duplicated.length,
    ledger_corrupted: verdict.corrupted.length,
    ledger_failed_present: verdict.failedButPresent.length,
  };
}

/** When each acknowledged commit was acknowledged (Unix ms), in order. */
export const ackTimesMs = (commits: CommitRecord[]): number[] =>
  commits
    .filter((c) => c.state === "ack")
    .map((c) => c.tDoneMs)
    .sort((a, b) => a - b);

export interface WriteGap {
  /** The longest pause between acknowledgements that ends after the disruption, in seconds; NaN when writes never resumed. */
  writeGapS: number;
  /** The acknowledgements around the gap (Unix ms); the first is absent when nothing was acknowledged before the disruption. */
  lastAckBeforeGapMs?: number;
  firstAckAfterGapMs?: number;
  /** Acknowledged commits per second in the window before the disruption and after the first acknowledgement after the gap. */
  ackRateBeforePerS: number;
  ackRateAfterPerS: number;
}

/**
 * The write gap an application sees at a disruption at `disruptionMs`: from
 * the last acknowledged commit before the outage to the first one after it.
 * A graceful shutdown acknowledges the commits in flight after the disruption
 * began, so the outage is the longest pause between consecutive
 * acknowledgements (all connections together) that ends after `disruptionMs`
 * and before `untilMs` (the next disruption, or the end of the run).
 */
export function writeGap(commits: CommitRecord[], disruptionMs: number, untilMs: number = Infinity, rateWindowMs = 10_000): WriteGap {
  const acks = ackTimesMs(commits);
  const before = acks.filter((t) => t <= disruptionMs);
  let start = before.at(-1) ?? disruptionMs;
  let best: { from: number; to: number } | undefined;
  for (const t of acks.filter((t) => t > disruptionMs && t < untilMs)) {
    if (!best || t - start > best.to - best.from) best = { from: start, to: t };
    start = t;
  }
  const rate = (fromMs: number, toMs: number) =>
    toMs > fromMs ? +(acks.filter((t) => t >= fromMs && t < toMs).length / ((toMs - fromMs) / 1000)).toFixed(1) : NaN;
  const beforeFrom = Math.max(disruptionMs - rateWindowMs, before[0] ?? disruptionMs);
  return {
    writeGapS: best ? +((best.to - best.from) / 1000).toFixed(3) : NaN,
    ...(best && (before.length > 0 || best.from !== disruptionMs) ? { lastAckBeforeGapMs: best.from } : {}),
    ...(best ? { firstAckAfterGapMs: best.to } : {}),
    ackRateBeforePerS: rate(beforeFrom, disruptionMs),
    ackRateAfterPerS: best ? rate(best.to, Math.min(best.to + rateWindowMs, untilMs, (acks.at(-1) ?? 0) + 1)) : 0,
  };
}

/** Percentiles of the write gaps of a series of disruptions, named as in results.json. */
export function writeGapFigures(gapsS: number[]): Record<string, number> {
  const resumed = gapsS.filter((g) => Number.isFinite(g));
  return { write_gap_p50_s: percentile(resumed, 50), write_gap_p95_s: percentile(resumed, 95), write_gap_max_s: resumed.length ? Math.max(...resumed) : NaN };
}

export interface ServerSpan {
  server: string;
  firstAckMs: number;
  lastAckMs: number;
  acks: number;
}

export interface ConcurrentServers {
  servers: ServerSpan[];
  /** Pairs of servers that both acknowledged commits within one interval: two mysqld serving one volume. */
  overlaps: { a: string; b: string; overlapS: number }[];
}

/**
 * Which servers acknowledged commits, and when. A row's server_identity is
 * the server that stored it; commits whose row is absent count for the
 * server their connection reached.
 */
export function concurrentServers(commits: CommitRecord[], rows: LedgerRow[]): ConcurrentServers {
  const identity = new Map(rows.map((r) => [key(r.writer, r.seq), r.serverIdentity]));
  const spans = new Map<string, ServerSpan>();
  for (const c of commits) {
    if (c.state !== "ack") continue;
    const server = identity.get(key(c.writer, c.seq)) ?? c.server ?? "unknown";
    const span = spans.get(server) ?? { server, firstAckMs: c.tDoneMs, lastAckMs: c.tDoneMs, acks: 0 };
    span.firstAckMs = Math.min(span.firstAckMs, c.tDoneMs);
    span.lastAckMs = Math.max(span.lastAckMs, c.tDoneMs);
    span.acks++;
    spans.set(server, span);
  }
  const servers = [...spans.values()].sort((a, b) => a.firstAckMs - b.firstAckMs);
  const overlaps: ConcurrentServers["overlaps"] = [];
  for (const [i, a] of servers.entries()) {
    for (const b of servers.slice(i + 1)) {
      const overlapMs = Math.min(a.lastAckMs, b.lastAckMs) - Math.max(a.firstAckMs, b.firstAckMs);
      if (overlapMs >= 0) overlaps.push({ a: a.server, b: b.server, overlapS: +(overlapMs / 1000).toFixed(3) });
    }
  }
  return { servers, overlaps };
}

/** Acknowledged commits per bin (default 100 ms) from `fromMs` to `toMs`, for the chart; `tMs` is each bin's start. */
export function binAcks(commits: CommitRecord[], fromMs: number, toMs: number, binMs = 100): { tMs: number; acks: number }[] {
  const bins = Array.from({ length: Math.max(0, Math.ceil((toMs - fromMs) / binMs)) }, (_, i) => ({ tMs: fromMs + i * binMs, acks: 0 }));
  for (const t of ackTimesMs(commits)) {
    const bin = bins[Math.floor((t - fromMs) / binMs)];
    if (t >= fromMs && bin) bin.acks++;
  }
  return bins;
}

export interface Disruption {
  /** What happened, as a reader says it: "pod deletion 3", "mysqld SIGKILL 2". */
  name: string;
  tMs: number;
  /** Where this disruption's window ends when something the suite does in between (not itself measured) pauses writes: a reset of the restart back-off. */
  untilMs?: number;
}

/**
 * The failure message of a verdict: each kind of violation with its count,
 * the first few sequence numbers, and when each was acknowledged (or sent)
 * relative to the nearest disruption, and for lost commits the settings that
 * allow losing them (durabilityRisks). Empty when there is no violation.
 */
export function describeViolations(
  verdict: LedgerVerdict,
  disruptions: Disruption[],
  firstFew = 5,
  risks: DurabilityRisk[] = [],
  context: { settings?: Record<string, string>; powerLoss?: boolean } = {},
): string {
  const when = (tMs: number | undefined, verb: string): string => {
    if (tMs === undefined || disruptions.length === 0) return "";
    const nearest = disruptions.reduce((a, b) => (Math.abs(b.tMs - tMs) < Math.abs(a.tMs - tMs) ? b : a));
    const s = (tMs - nearest.tMs) / 1000;
    return ` ${verb} ${Math.abs(s).toFixed(2)} s ${s < 0 ? "before" : "after"} ${nearest.name}`;
  };
  const name = (w: number, seq: number) => `writer ${w} seq ${seq}`;
  const list = <T>(items: T[], describe: (item: T) => string) =>
    items.slice(0, firstFew).map(describe).join("; ") + (items.length > firstFew ? `; and ${items.length - firstFew} more` : "");
  const parts: string[] = [];
  if (verdict.lost.length)
    parts.push(
      `${verdict.lost.length} acknowledged commits lost (of ${verdict.acknowledged}): ${list(verdict.lost, (c) => name(c.writer, c.seq) + when(c.tDoneMs, "acknowledged"))}`,
    );
  if (verdict.failedButPresent.length)
    parts.push(
      `${verdict.failedButPresent.length} commits that failed before COMMIT was sent are in the table: ${list(verdict.failedButPresent, (c) => name(c.writer, c.seq) + when(c.tDoneMs, "failed"))}`,
    );
  if (verdict.phantom.length)
    parts.push(`${verdict.phantom.length} phantom rows, never sent: ${list(verdict.phantom, (r) => `${name(r.writer, r.seq)} from ${r.serverIdentity}`)}`);
  if (verdict.duplicated.length)
    parts.push(
      `${verdict.duplicated.length} commits stored more than once: ${list(verdict.duplicated, (d) => `${name(d.writer, d.seq)} ×${d.rows}${d.ids ? ` (ids ${d.ids.join(", ")}; ${d.servers!.length > 1 ? `servers ${d.servers!.join(", ")}` : `server ${d.servers![0]}`})` : ""}${when(d.record?.tDoneMs, "committed")}`)}`,
    );
  if (verdict.corrupted.length)
    parts.push(
      `${verdict.corrupted.length} corrupted rows: ${list(verdict.corrupted, (c) => `${name(c.row.writer, c.row.seq)}: ${c.reason}${when(c.record?.tDoneMs, "committed")}`)}`,
    );
  if (verdict.lost.length && risks.length) parts.push(`The server's settings allow it: ${risks.map((r) => `${r.setting}=${r.value} (${r.risk})`).join("; ")}`);
  else if (verdict.lost.length && context.settings) {
    const shown = ["innodb_flush_log_at_trx_commit", "sync_binlog", "innodb_doublewrite", "innodb_flush_method"]
      .filter((name) => context.settings![name] !== undefined)
      .map((name) => `${name}=${context.settings![name]}`)
      .join(", ");
    parts.push(
      context.powerLoss
        ? `The server's settings are durable (${shown}): it synced each commit before acknowledging it, so the storage acknowledged an fsync it had not made durable: blame the storage (its write cache, a mount or export that ignores flushes), not the server`
        : `The server's settings are durable (${shown}) and no power was lost (every byte written was still there): the server acknowledged commits it did not keep, a server fault`,
    );
  }
  return parts.join(".\n");
}
