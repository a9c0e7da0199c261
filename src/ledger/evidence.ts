import { createWriteStream, mkdirSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { PassThrough } from "node:stream";
import type { Connection } from "mysql2/promise";
import type { DeployedSetup } from "../design/deployment.ts";
import { execInPod } from "../kube/exec.ts";
import { nameOf } from "../kube/names.ts";
import { timeouts } from "../timeouts.ts";
import type { LedgerVerdict } from "./analysis.ts";
import { ledgerDatabase } from "./table.ts";

/**
 * When the ledger goes red, what a person needs to tell a server bug from a
 * storage fault from a flaw of the suite, gathered before anything is
 * deleted: the failing rows read again through the clustered index alone
 * (IGNORE INDEX) and through the secondary index, and by primary key; CHECK
 * TABLE ... EXTENDED; the durability settings; every MySQL container's log,
 * the previous instance's too (crash recovery is there); and a tarball of
 * the data directory as the server has it now.
 */
export interface LedgerEvidence {
  /** Text files for the check's failure folder, by name. */
  files: Record<string, string>;
  /** Where the data directory's tarball was written, when it was. */
  tarball?: string;
}

/** The (writer, seq) of every commit a verdict faults: lost, failed yet present, phantom, duplicated, corrupted. */
export function faultedCommits(verdict: LedgerVerdict): { writer: number; seq: number; why: string }[] {
  const faulted = [
    ...verdict.lost.map((c) => ({ writer: c.writer, seq: c.seq, why: "lost (acknowledged, not found)" })),
    ...verdict.failedButPresent.map((c) => ({ writer: c.writer, seq: c.seq, why: "failed before COMMIT, yet present" })),
    ...verdict.phantom.map((r) => ({ writer: r.writer, seq: r.seq, why: "phantom (never sent)" })),
    ...verdict.duplicated.map((d) => ({ writer: d.writer, seq: d.seq, why: `stored ${d.rows} times` })),
    ...verdict.corrupted.map((c) => ({ writer: c.row.writer, seq: c.row.seq, why: `corrupted: ${c.reason}` })),
  ];
  const seen = new Set<string>();
  return faulted.filter((f) => !seen.has(`${f.writer}/${f.seq}`) && seen.add(`${f.writer}/${f.seq}`)).slice(0, 200);
}

async function queryText(connection: Connection, sql: string, values: unknown[] = []): Promise<string> {
  try {
    const [rows] = await connection.query(sql, values);
    return `${sql}\n${JSON.stringify(rows, null, 1)}\n`;
  } catch (error) {
    return `${sql}\nfailed: ${(error as Error).message}\n`;
  }
}

/**
 * Gathers the evidence of a red ledger from the setup's running MySQL.
 * `tarballDir`: where to write the data directory's tarball (the run's
 * report folder); without it none is written. Never throws: what could not
 * be gathered is said in the files.
 */
export async function collectLedgerEvidence(setup: DeployedSetup, run: string, verdict: LedgerVerdict, tarballDir?: string): Promise<LedgerEvidence> {
  const files: Record<string, string> = {};
  const faulted = faultedCommits(verdict);
  const table = `\`${ledgerDatabase}\`.ledger`;
  const db = await setup.open().catch((error: Error) => error);
  if (db instanceof Error) {
    files["ledger-evidence.txt"] = `MySQL could not be reached for the evidence: ${db.message}\n`;
  } else {
    try {
      const where = faulted.map(() => "(writer = ? AND seq = ?)").join(" OR ") || "FALSE";
      const values = [run, ...faulted.flatMap((f) => [f.writer, f.seq])];
      const columns = "id, writer, seq, payload_crc, server_identity, committed_at";
      const parts = [
        `The ledger of run ${run} is red. Faulted commits (writer/seq: why):\n${faulted.map((f) => `  ${f.writer}/${f.seq}: ${f.why}`).join("\n")}\n`,
        "Through the clustered index only (a full scan: what the table holds):",
        await queryText(db.connection, `SELECT ${columns} FROM ${table} IGNORE INDEX (run_writer_seq) WHERE run = ? AND (${where}) ORDER BY id`, values),
        "Through the secondary index run_writer_seq (how the verification read them):",
        await queryText(db.connection, `SELECT ${columns} FROM ${table} FORCE INDEX (run_writer_seq) WHERE run = ? AND (${where}) ORDER BY id`, values),
        "Row counts of the run through each index (they must agree):",
        await queryText(db.connection, `SELECT COUNT(*) AS rows_clustered FROM ${table} IGNORE INDEX (run_writer_seq) WHERE run = ?`, [run]),
        await queryText(db.connection, `SELECT COUNT(*) AS rows_secondary FROM ${table} FORCE INDEX (run_writer_seq) WHERE run = ?`, [run]),
        "By primary key, the neighbours of each duplicated row:",
        await queryText(
          db.connection,
          `SELECT ${columns} FROM ${table} WHERE id IN (${
            verdict.duplicated
              .flatMap((d) => d.ids ?? [])
              .flatMap((id) => [id - 1, id, id + 1])
              .join(", ") || "NULL"
          }) ORDER BY id`,
        ),
        await queryText(db.connection, `CHECK TABLE ${table} EXTENDED`),
        await queryText(db.connection, "SELECT @@version, @@version_comment, @@hostname, @@server_uuid"),
        await queryText(
          db.connection,
          "SHOW GLOBAL VARIABLES WHERE Variable_name REGEXP '^(innodb_flush|innodb_doublewrite|sync_binlog|log_bin$|innodb_use_native_aio|innodb_log_|innodb_redo|binlog_order|innodb_linux_aio|innodb_data_file|innodb_page_size)'",
        ),
        await queryText(db.connection, "SHOW GLOBAL STATUS WHERE Variable_name REGEXP '^(Uptime|Innodb_redo_log|Innodb_os_log|Innodb_data_fsyncs|Binlog)'"),
      ];
      files["ledger-evidence.txt"] = parts.join("\n");
    } finally {
      await db.close();
    }
  }
  // Every MySQL container's log, the instance before a restart too: crash recovery speaks there.
  const pods = await setup.kube.core.listNamespacedPod({ namespace: setup.namespace, labelSelector: setup.selector }).catch(() => ({ items: [] }));
  const container = setup.workload.container.name;
  for (const pod of pods.items) {
    for (const previous of [true, false]) {
      const log = await setup.kube.core
        .readNamespacedPodLog({ name: nameOf(pod), namespace: setup.namespace, container, previous })
        .catch((error: Error) => `(no ${previous ? "previous " : ""}log: ${error.message.split("\n")[0]})`);
      files[`mysql-logs/${nameOf(pod)}.${container}${previous ? ".previous" : ""}.log`] = log;
    }
  }
  const running = pods.items.find((p) => p.status?.phase === "Running");
  if (!tarballDir || !running) {
    files["datadir.txt"] = `no tarball of the data directory: ${tarballDir ? "no MySQL pod is running" : "the run writes no reports"}\n`;
    return { files };
  }
  mkdirSync(tarballDir, { recursive: true });
  const tarball = join(tarballDir, `datadir-${nameOf(running)}.tar.gz`);
  try {
    const out = new PassThrough();
    const written = pipeline(out, createWriteStream(tarball));
    const result = await execInPod(
      setup.kube,
      { namespace: setup.namespace, pod: nameOf(running), container },
      ["tar", "-C", setup.dataDir, "-czf", "-", "."],
      {
        stdout: out,
        timeoutMs: timeouts.execMs,
      },
    );
    out.end();
    await written;
    files["datadir.txt"] =
      `the data directory ${setup.dataDir} of pod ${nameOf(running)}, as the recovered server has it (tar exit ${result.exitCode}; a live copy: files the server writes meanwhile may be torn): ${tarball}\n${result.stderr}`;
    return { files, tarball };
  } catch (error) {
    files["datadir.txt"] = `the data directory could not be copied: ${(error as Error).message}\n`;
    return { files };
  }
}
