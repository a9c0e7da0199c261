import { readFileSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { describe, expect, test } from "vitest";
import {
  binAcks,
  concurrentServers,
  describeViolations,
  ledgerFigures,
  parseWriterLog,
  verifyLedger,
  writeGap,
  writeGapFigures,
  type CommitRecord,
} from "../../src/ledger/analysis.ts";
import { durabilityRisks } from "../../src/ledger/durability.ts";
import { ledgerTableGone } from "../../src/ledger/writer.ts";
import type { LedgerRow } from "../../src/ledger/table.ts";
import { projectRoot } from "../../src/paths.ts";

const run = "cycle-1";
// A payload as images/writer builds it: run:writer:seq: and 32 hex digits.
const payload = (w: number, seq: number) => `${run}:${w}:${seq}:${"0123456789abcdef".repeat(2)}`;
const line = (w: number, seq: number, state: string, tSend: number, tDone: number, extra = "") =>
  `{"w":${w},"seq":${seq},"state":"${state}","t_send":${tSend},"t_done":${tDone},"crc":${crc32(payload(w, seq)) >>> 0}${extra}}`;
const row = (w: number, seq: number, server = "mysql-a@1764000000"): LedgerRow => ({
  writer: w,
  seq,
  payload: payload(w, seq),
  payloadCrc: crc32(payload(w, seq)) >>> 0,
  serverIdentity: server,
});

describe("the writer's log", () => {
  test("commits and events parse; a cut last line is ignored; stderr lines are kept apart", () => {
    const text = [
      `{"event":"start","t":1000,"run":"cycle-1","connections":2,"rate":100}`,
      `{"event":"connected","t":1001,"w":0,"srv":"mysql-a@1764000000"}`,
      line(0, 1, "ack", 1002, 1010, `,"srv":"mysql-a@1764000000"`),
      `ledger-writer: something on stderr`,
      line(0, 2, "indoubt", 1020, 3020, `,"srv":"mysql-a@1764000000","err":"commit: invalid connection"`),
      `{"event":"reconnect","t":3030,"w":0,"attempt":1,"delay_ms":50,"err":"dial tcp: connection refused"}`,
      `{"w":1,"seq":1,"sta`,
    ].join("\n");
    const log = parseWriterLog(text);
    expect(log.commits.map((c) => [c.writer, c.seq, c.state])).toEqual([
      [0, 1, "ack"],
      [0, 2, "indoubt"],
    ]);
    expect(log.commits[1]).toMatchObject({ tSendMs: 1020, tDoneMs: 3020, server: "mysql-a@1764000000", err: "commit: invalid connection" });
    expect(log.events.map((e) => e.event)).toEqual(["start", "connected", "reconnect"]);
    expect(log.otherLines).toEqual(["ledger-writer: something on stderr"]);
    expect(log.complete).toBe(false);
    expect(parseWriterLog(`${line(0, 1, "ack", 1, 2)}\n{"event":"stop","t":5,"ack":1}\n`).complete).toBe(true);
  });
});

describe("a ledger table gone", () => {
  const start = `{"event":"start","t":1,"run":"r","connections":4,"rate":100}`;
  test("is the writer's commits failing with unknown database or no such table", () => {
    const failing = [start, line(0, 7, "fail", 10, 12, `,"err":"Error 1146 (42S02): Table 'storage_conformance_ledger.ledger' doesn't exist"`)].join("\n");
    expect(ledgerTableGone(failing)).toBe(true);
    expect(ledgerTableGone([start, line(1, 3, "fail", 10, 12, `,"err":"Error 1049 (42000): Unknown database 'storage_conformance_ledger'"`)].join("\n"))).toBe(
      true,
    );
  });

  test("is not the writer retrying while it creates the table at its start (a fresh server's first CREATE DATABASE can fail)", () => {
    const retrying = [
      start,
      `{"event":"reconnect","t":2,"attempt":1,"delay_ms":50,"err":"creating the ledger table: Error 1049 (42000): Unknown database 'storage_conformance_ledger'"}`,
      "",
    ].join("\n");
    expect(ledgerTableGone(retrying)).toBe(false);
    expect(ledgerTableGone([start, line(0, 1, "fail", 10, 12, `,"err":"Error 1062 (23000): Duplicate entry"`)].join("\n"))).toBe(false);
  });
});

describe("the ledger verdict", () => {
  test("acknowledged rows present and in-doubt rows either way pass, with the in-doubt split reported", () => {
    const log = parseWriterLog(
      [
        line(0, 1, "ack", 0, 5),
        line(0, 2, "indoubt", 10, 2010),
        line(1, 1, "indoubt", 11, 2011),
        line(1, 2, "fail", 2100, 2101),
        '{"event":"stop","t":3000}',
        "",
      ].join("\n"),
    );
    const verdict = verifyLedger(log, [row(0, 1), row(0, 2)], run);
    expect(verdict.violations).toBe(0);
    expect(verdict.inDoubtPresent.map((c) => c.seq)).toEqual([2]);
    expect(verdict.inDoubtAbsent.map((c) => [c.writer, c.seq])).toEqual([[1, 1]]);
    expect(ledgerFigures(verdict)).toMatchObject({ ledger_acknowledged: 1, ledger_lost: 0, ledger_in_doubt: 2, ledger_in_doubt_present: 1, ledger_phantom: 0 });
  });

  test("lost, failed-but-present, phantom, duplicated and corrupted rows are each violations", () => {
    const log = parseWriterLog(
      [
        line(0, 1, "ack", 0, 5),
        line(0, 2, "ack", 6, 9),
        line(0, 3, "fail", 10, 11),
        line(0, 4, "ack", 12, 15),
        line(0, 5, "ack", 16, 19),
        '{"event":"stop","t":30}',
        "",
      ].join("\n"),
    );
    const tampered = { ...row(0, 5), payload: payload(0, 5).replace("abc", "abd") };
    const verdict = verifyLedger(log, [row(0, 1), row(0, 3), row(0, 4), row(0, 4), tampered, row(7, 1)], run);
    expect(verdict.lost.map((c) => c.seq)).toEqual([2]);
    expect(verdict.failedButPresent.map((c) => c.seq)).toEqual([3]);
    expect(verdict.duplicated).toMatchObject([{ writer: 0, seq: 4, rows: 2 }]);
    expect(verdict.corrupted.map((c) => [c.row.seq, c.reason])).toEqual([[5, expect.stringMatching(/^payload checksum \d+ differs from the stored \d+$/)]]);
    expect(verdict.phantom.map((r) => [r.writer, r.seq])).toEqual([[7, 1]]);
    expect(verdict.violations).toBe(5);
  });

  test("a commit stored twice is named with each row's id and server: a second insert, or one row read twice", () => {
    const log = parseWriterLog(`${line(0, 1, "ack", 0, 5)}\n{"event":"stop","t":30}\n`);
    const twice = [
      { ...row(0, 1), id: 41 },
      { ...row(0, 1), id: 57, serverIdentity: "mysql-b@2" },
    ];
    const verdict = verifyLedger(log, twice, run);
    expect(verdict.duplicated).toMatchObject([{ writer: 0, seq: 1, rows: 2, ids: [41, 57], servers: [twice[0]!.serverIdentity, "mysql-b@2"] }]);
    expect(describeViolations(verdict, [])).toContain(`writer 0 seq 1 ×2 (ids 41, 57; servers ${twice[0]!.serverIdentity}, mysql-b@2)`);
  });

  test("a row stored under another writer's number, or with another checksum than sent, is corrupted", () => {
    const log = parseWriterLog(`${line(0, 1, "ack", 0, 5)}\n${line(0, 2, "ack", 6, 9)}\n{"event":"stop","t":30}\n`);
    const moved = { ...row(1, 1), writer: 0, seq: 1 };
    // A payload consistent with its stored checksum, yet not the one the writer sent.
    const rewritten = `${payload(0, 2).slice(0, -4)}zzzz`;
    const recrc = { ...row(0, 2), payload: rewritten, payloadCrc: crc32(rewritten) >>> 0 };
    const reasons = verifyLedger(log, [moved, recrc], run).corrupted.map((c) => c.reason);
    expect(reasons).toEqual([expect.stringMatching(/belongs to another row/), expect.stringMatching(/differs from the one sent/)]);
  });

  test("a writer cut off mid-commit leaves that commit in doubt, not phantom; a complete log does not", () => {
    const records = `${line(0, 1, "ack", 0, 5)}\n`;
    expect(verifyLedger(parseWriterLog(records), [row(0, 1), row(0, 2)], run)).toMatchObject({ violations: 0, unrecordedPresent: [{ seq: 2 }] });
    expect(verifyLedger(parseWriterLog(records), [row(0, 1), row(0, 3)], run).phantom.map((r) => r.seq)).toEqual([3]);
    expect(verifyLedger(parseWriterLog(`${records}{"event":"stop","t":9}\n`), [row(0, 1), row(0, 2)], run).phantom.map((r) => r.seq)).toEqual([2]);
  });

  test("one run id used by two writer processes is refused, not misjudged", () => {
    const log = parseWriterLog(`${line(0, 1, "ack", 0, 5)}\n${line(0, 1, "fail", 10, 11)}\n`);
    expect(() => verifyLedger(log, [row(0, 1)], run)).toThrow("writer 0 seq 1 was recorded twice: each writer process needs its own -run");
  });

  test("the failure message names the first sequence numbers and when each was acknowledged relative to the disruption", () => {
    const log = parseWriterLog(`${[1, 2, 3, 4, 5, 6, 7].map((seq) => line(2, seq, "ack", 10_000 + seq * 100 - 5, 10_000 + seq * 100)).join("\n")}\n`);
    const message = describeViolations(
      verifyLedger(log, [], run),
      [
        { name: "pod deletion 1", tMs: 10_500 },
        { name: "pod deletion 2", tMs: 40_000 },
      ],
      3,
    );
    expect(message).toBe(
      "7 acknowledged commits lost (of 7): writer 2 seq 1 acknowledged 0.40 s before pod deletion 1; " +
        "writer 2 seq 2 acknowledged 0.30 s before pod deletion 1; writer 2 seq 3 acknowledged 0.20 s before pod deletion 1; and 4 more",
    );
    expect(describeViolations(verifyLedger(log, [row(2, 1), row(2, 2), row(2, 3), row(2, 4), row(2, 5), row(2, 6), row(2, 7)], run), [])).toBe("");
  });
});

// 4 connections at 100 commits/s in total: an acknowledgement every 10 ms.
// Sequence numbers from the start time, so two spans never share one.
function steady(fromMs: number, toMs: number, server = "mysql-a@1764000000"): CommitRecord[] {
  const commits: CommitRecord[] = [];
  for (let t = fromMs, seq = fromMs + 1; t < toMs; t += 10, seq++)
    commits.push({ writer: seq % 4, seq, state: "ack", tSendMs: t - 3, tDoneMs: t, crc: 0, server });
  return commits;
}

describe("the write gap", () => {
  test("is from the last acknowledgement before the outage to the first after it, with the rates around it", () => {
    const commits = [...steady(0, 10_000), ...steady(12_340, 30_000, "mysql-b@1764000012")];
    const gap = writeGap(commits, 10_000);
    expect(gap).toMatchObject({ writeGapS: 2.35, lastAckBeforeGapMs: 9_990, firstAckAfterGapMs: 12_340, ackRateBeforePerS: 100, ackRateAfterPerS: 100 });
  });

  test("a graceful shutdown that acknowledges commits after the disruption still shows the outage after them", () => {
    const commits = [...steady(0, 10_800), ...steady(13_000, 20_000)];
    expect(writeGap(commits, 10_000)).toMatchObject({ writeGapS: 2.21, lastAckBeforeGapMs: 10_790, firstAckAfterGapMs: 13_000 });
  });

  test("writes that never resumed give no gap; percentiles skip them", () => {
    const gap = writeGap(steady(0, 10_000), 10_000);
    expect(gap.writeGapS).toBeNaN();
    expect(gap.ackRateAfterPerS).toBe(0);
    expect(writeGapFigures([2.1, 2.4, NaN, 22.8])).toEqual({ write_gap_p50_s: 2.4, write_gap_p95_s: 22.8, write_gap_max_s: 22.8 });
  });

  test("only acknowledgements before the next disruption count", () => {
    const commits = [...steady(0, 10_000), ...steady(12_000, 15_000), ...steady(25_000, 30_000)];
    expect(writeGap(commits, 10_000, 15_000).writeGapS).toBe(2.01);
    expect(writeGap(commits, 15_000).writeGapS).toBe(10.01);
  });
});

describe("two servers on one volume", () => {
  test("old and new servers whose acknowledgements interleave are reported with the overlap", () => {
    const commits = [...steady(0, 10_000), ...steady(9_000, 20_000, "mysql-b@1764000009")];
    const rows = commits.map((c) => row(c.writer, c.seq, c.server));
    const { servers, overlaps } = concurrentServers(commits, rows);
    expect(servers.map((s) => s.server)).toEqual(["mysql-a@1764000000", "mysql-b@1764000009"]);
    expect(overlaps).toEqual([{ a: "mysql-a@1764000000", b: "mysql-b@1764000009", overlapS: 0.99 }]);
  });

  test("a clean hand-over has no overlap, and the row's identity wins over the connection's", () => {
    const commits = [...steady(0, 10_000), ...steady(12_000, 20_000, "mysql-b@1764000012")];
    expect(concurrentServers(commits, []).overlaps).toEqual([]);
    const stored = concurrentServers(commits.slice(0, 3), [row(commits[0]!.writer, commits[0]!.seq, "mysql-z@1")]);
    expect(stored.servers.map((s) => [s.server, s.acks])).toEqual([
      ["mysql-z@1", 1],
      ["mysql-a@1764000000", 2],
    ]);
  });
});

test("acknowledgements bin into 100 ms bins for the chart", () => {
  const bins = binAcks(steady(0, 1_000), 500, 800);
  expect(bins).toEqual([
    { tMs: 500, acks: 10 },
    { tMs: 600, acks: 10 },
    { tMs: 700, acks: 10 },
  ]);
  expect(binAcks([], 0, 250).map((b) => b.tMs)).toEqual([0, 100, 200]);
});

describe("durability settings", () => {
  // SHOW GLOBAL VARIABLES of Debian's MariaDB 10.11 with its defaults, binary log off.
  const mariadbDefaults = {
    innodb_flush_log_at_trx_commit: "1",
    innodb_flush_log_at_timeout: "1",
    sync_binlog: "0",
    log_bin: "OFF",
    innodb_doublewrite: "ON",
    innodb_flush_method: "O_DIRECT",
  };

  test("durable defaults carry no risk; sync_binlog matters only with the binary log on", () => {
    expect(durabilityRisks(mariadbDefaults)).toEqual([]);
    expect(durabilityRisks({ ...mariadbDefaults, log_bin: "ON" }).map((r) => r.setting)).toEqual(["sync_binlog"]);
  });

  test("a server that acknowledges before the redo log is flushed is named first, as losing commits on a mysqld crash", () => {
    const risks = durabilityRisks({ ...mariadbDefaults, innodb_doublewrite: "OFF", innodb_flush_log_at_trx_commit: "0" });
    expect(risks.map((r) => [r.setting, r.losesOnMysqldCrash])).toEqual([
      ["innodb_flush_log_at_trx_commit", true],
      ["innodb_doublewrite", false],
    ]);
    expect(durabilityRisks({ ...mariadbDefaults, innodb_flush_log_at_trx_commit: "2" })[0]).toMatchObject({
      losesOnMysqldCrash: false,
      risk: expect.stringMatching(/OS crash or power loss/),
    });
  });

  test("with MySQL's log writer threads, innodb_flush_log_at_trx_commit=0 is said to lose commits at a power loss, few at a mysqld crash", () => {
    const [risk] = durabilityRisks({ innodb_flush_log_at_trx_commit: "0", innodb_flush_log_at_timeout: "5", innodb_log_writer_threads: "ON" });
    expect(risk).toMatchObject({ setting: "innodb_flush_log_at_trx_commit", losesOnMysqldCrash: true });
    expect(risk!.risk).toBe(
      "the redo log is flushed every 5 s, not at commit: an OS crash or power loss loses the last 5 s of acknowledged commits; a crash of mysqld loses only those the log writer threads had not yet written to the OS (milliseconds' worth, often none)",
    );
    expect(durabilityRisks({ innodb_flush_log_at_trx_commit: "0", innodb_log_writer_threads: "OFF" })[0]!.risk).toMatch(
      /^the redo log is written and flushed every 1 s, not at commit: a crash of mysqld loses the last 1 s/,
    );
  });

  test("the message about lost commits names the setting responsible", () => {
    const log = parseWriterLog(`${line(0, 1, "ack", 990, 1000)}\n{"event":"stop","t":5000}\n`);
    const risks = durabilityRisks({ ...mariadbDefaults, innodb_flush_log_at_trx_commit: "0" });
    expect(describeViolations(verifyLedger(log, [], run), [{ name: "mysqld SIGKILL 1", tMs: 1300 }], 5, risks)).toBe(
      "1 acknowledged commits lost (of 1): writer 0 seq 1 acknowledged 0.30 s before mysqld SIGKILL 1.\n" +
        "The server's settings allow it: innodb_flush_log_at_trx_commit=0 (the redo log is written and flushed every 1 s, not at commit: a crash of mysqld loses the last 1 s of acknowledged commits)",
    );
  });
});

// The writer's own lines, written by its Go structs (images/writer/cmd/ledger-writer/golden_test.go,
// regenerated with -update there): the two sides of the format cannot drift apart unnoticed.
describe("the writer's golden log", () => {
  const text = readFileSync(join(projectRoot, "images/writer/cmd/ledger-writer/testdata/writer-log.golden.jsonl"), "utf8");
  const log = parseWriterLog(text);

  test("parses whole: every commit and event, nothing left over, the stop seen", () => {
    expect(log.otherLines).toEqual([]);
    expect(log.complete).toBe(true);
    expect(log.commits.length + log.events.length).toBe(text.trim().split("\n").length);
  });

  test("each commit keeps its writer, sequence, state, times, CRC, server and error", () => {
    expect(log.commits.map((c) => [c.writer, c.seq, c.state])).toEqual([
      [1, 1, "ack"],
      [2, 1, "ack"],
      [1, 2, "indoubt"],
      [2, 2, "fail"],
      [1, 3, "ack"],
    ]);
    expect(log.commits[2]).toEqual({
      writer: 1,
      seq: 2,
      state: "indoubt",
      tSendMs: 1_764_000_000_060,
      tDoneMs: 1_764_000_003_061,
      crc: 659166257,
      server: "mysql-a@1763990000",
      err: "commit: invalid connection",
    });
    expect(
      log.commits.filter((c) => !Number.isInteger(c.crc) || c.crc <= 0).map((c) => `${c.writer}/${c.seq}`),
      "commits without a CRC",
    ).toEqual([]);
    expect(new Set(log.commits.map((c) => c.server))).toEqual(new Set(["mysql-a@1763990000", "mysql-b@1764000004"]));
  });

  test("each event keeps its name, time, writer, server and error", () => {
    expect(log.events.map((e) => e.event)).toEqual(["start", "connected", "connected", "reconnect", "connected", "summary", "stop"]);
    expect(log.events[3]).toEqual({ event: "reconnect", tMs: 1_764_000_000_100, writer: 1, err: "dial tcp: connection refused" });
    expect(log.events[4]).toEqual({ event: "connected", tMs: 1_764_000_005_000, writer: 1, server: "mysql-b@1764000004" });
  });

  test("the acknowledged commits' times are what the write gap is measured on", () => {
    const gap = writeGap(log.commits, 1_764_000_000_050);
    expect([gap.lastAckBeforeGapMs, gap.firstAckAfterGapMs]).toEqual([1_764_000_000_046, 1_764_000_005_016]);
    expect(gap.writeGapS).toBeCloseTo(4.97, 2);
  });
});
