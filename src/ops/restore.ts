import { createHash } from "node:crypto";
import { createReadStream, existsSync, openSync, closeSync, readSync, statSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { dumpEndMarker } from "../design/backup.ts";
import { engineOfVersion, type Engine } from "../mysql/engines.ts";
import { describeFsError, readTextFile } from "../files.ts";
import type { TableChecksums } from "../mysql/dataset.ts";
import { parseRecord, recordPath, type BackupRecord } from "./backup-record.ts";

/**
 * What `restore-db` decides before it touches a server, and how it judges the
 * result: pure checks on the dump file, its record, the server's engine and
 * the databases already there. Each refusal is one line (exit 2).
 */
export class RestoreRefused extends Error {}

export interface CheckedDump {
  file: string;
  bytes: number;
  sha256: string;
  record: BackupRecord;
  /** The databases the dump itself switches to (its `USE` lines), in order. */
  databases: string[];
}

/** A record is a few kilobytes; anything larger is not one. */
const recordMaxBytes = 4 * 2 ** 20;

/**
 * Checks a dump file and its record: the file exists and can be read, the
 * record beside it exists and parses, the dump ends with mysqldump's end
 * marker (else it is truncated), and its sha256 is the one recorded.
 */
export async function checkDump(file: string): Promise<CheckedDump> {
  let size: number;
  try {
    const stat = statSync(file);
    if (stat.isDirectory()) throw new RestoreRefused(`${file} is a directory, not a dump file`);
    if (!stat.isFile()) throw new RestoreRefused(`${file} is not a regular file`);
    size = stat.size;
    closeSync(openSync(file, "r"));
  } catch (error) {
    if (error instanceof RestoreRefused) throw error;
    throw new RestoreRefused(`${file} ${describeFsError(error, file)}`);
  }
  const recordFile = recordPath(file);
  if (!existsSync(recordFile)) {
    throw new RestoreRefused(
      `${file} has no record beside it (${recordFile}, which backup-db writes with each dump): without it the dump can be neither checked nor verified`,
    );
  }
  const record = parseRecord(
    readTextFile(recordFile, recordMaxBytes, (clause) => new RestoreRefused(`${recordFile} ${clause}`)),
    recordFile,
  );
  if (size === 0) throw new RestoreRefused(`${file} is empty: it is not a dump`);
  if (!readTail(file, 200).includes(dumpEndMarker)) {
    throw new RestoreRefused(
      `${file} is truncated: it does not end with mysqldump's "${dumpEndMarker}" line (${size} bytes; the record says ${record.dump.bytes})`,
    );
  }
  const scanned = await hashAndScan(file);
  if (scanned.sha256 !== record.dump.sha256) {
    throw new RestoreRefused(
      `${file} has sha256 ${scanned.sha256.slice(0, 16)}…, its record says ${record.dump.sha256.slice(0, 16)}… (${size} bytes, recorded ${record.dump.bytes}): the file changed after the backup, or the record belongs to another dump`,
    );
  }
  return { file, bytes: size, sha256: scanned.sha256, record, databases: scanned.databases };
}

/** sha256 of the whole file and the databases its `USE` lines name, in one streaming pass. */
async function hashAndScan(file: string): Promise<{ sha256: string; databases: string[] }> {
  const hash = createHash("sha256");
  const decoder = new StringDecoder("utf8");
  const databases: string[] = [];
  // Lines are split across chunks; only a line that can still become a USE line is kept, so a
  // long INSERT line is never held whole.
  let carry = "";
  let skipping = false;
  const couldBeUse = (s: string) => s.startsWith("USE ") || "USE ".startsWith(s);
  const scanLine = (line: string) => {
    const use = /^USE `((?:[^`]|``)+)`;$/.exec(line);
    const name = use?.[1]?.replace(/``/g, "`");
    if (name !== undefined && !databases.includes(name)) databases.push(name);
  };
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    const text = decoder.write(chunk as Buffer);
    let start = 0;
    for (;;) {
      const newline = text.indexOf("\n", start);
      if (newline === -1) {
        if (!skipping) {
          carry += text.slice(start);
          if (!couldBeUse(carry)) [carry, skipping] = ["", true];
        }
        break;
      }
      if (!skipping) scanLine(carry + text.slice(start, newline));
      [carry, skipping, start] = ["", false, newline + 1];
    }
  }
  if (!skipping) scanLine(carry + decoder.end());
  return { sha256: hash.digest("hex"), databases };
}

function readTail(file: string, bytes: number): string {
  const fd = openSync(file, "r");
  try {
    const size = statSync(file).size;
    const buffer = Buffer.alloc(Math.min(bytes, size));
    readSync(fd, buffer, 0, buffer.length, size - buffer.length);
    return buffer.toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/**
 * Which databases are restored: the dump's. `--database NAME` is the
 * operator saying which one they mean; a dump of another is refused. A dump
 * of every database holds the `mysql` system schema (users, passwords) and is
 * not restored by this command.
 */
export function databasesToRestore(dump: CheckedDump, wanted: string | undefined): string[] {
  if (dump.record.allDatabases) {
    throw new RestoreRefused(
      `${dump.file} is a dump of every database, the mysql system schema (users and passwords) included: restore-db restores dumps of named databases (backup-db --database NAME)`,
    );
  }
  if (dump.databases.length === 0) throw new RestoreRefused(`${dump.file} names no database (no USE line): it was not made by backup-db`);
  const unrecorded = dump.databases.filter((d) => !dump.record.databases.includes(d));
  if (unrecorded.length)
    throw new RestoreRefused(`${dump.file} holds database ${unrecorded.join(", ")}, which its record does not name (${dump.record.databases.join(", ")})`);
  if (wanted !== undefined && (dump.databases.length !== 1 || dump.databases[0] !== wanted)) {
    throw new RestoreRefused(`${dump.file} is a dump of ${dump.databases.join(", ")}, not of --database ${wanted}`);
  }
  return dump.databases;
}

export const engineTitle = (engine: Engine): string => (engine === "mariadb" ? "MariaDB" : "MySQL");

/** A dump made on another engine than the server's is refused unless the operator says to try. */
export function engineRefusal(record: BackupRecord, serverVersion: string, crossEngine: boolean): string | undefined {
  const server = engineOfVersion(serverVersion);
  if (server === record.server.engine || crossEngine) return undefined;
  return `the dump was made on ${engineTitle(record.server.engine)} ${record.server.version}, this server is ${engineTitle(server)} ${serverVersion}; pass --cross-engine to try anyway`;
}

/** What the server holds of each database the dump restores: its tables, or undefined when the database does not exist. */
export type ExistingTables = Record<string, string[] | undefined>;

export type RestorePlan = { action: "refuse"; reason: string } | { action: "restore"; drop: string[] };

/**
 * Refuse, or restore (after dropping what --replace says to drop). A
 * database that has tables is never restored over without --replace: the
 * dump's DROP TABLE lines would replace its tables one by one and leave the
 * others, a mix of two states.
 */
export function planRestore(databases: string[], existing: ExistingTables, replace: boolean): RestorePlan {
  const occupied = databases.filter((d) => (existing[d]?.length ?? 0) > 0);
  if (occupied.length && !replace) {
    const described = occupied.map(
      (d) =>
        `${d} has ${existing[d]!.length} table${existing[d]!.length === 1 ? "" : "s"} (${existing[d]!.slice(0, 5).join(", ")}${existing[d]!.length > 5 ? ", …" : ""})`,
    );
    return { action: "refuse", reason: `database ${described.join("; ")} on the server: pass --replace to drop and recreate it from the dump` };
  }
  return { action: "restore", drop: replace ? databases.filter((d) => existing[d] !== undefined) : [] };
}

export interface TableVerdict {
  database: string;
  table: string;
  expected: { rows: number; checksum: string };
  found?: { rows: number; checksum: string };
  verified: boolean;
}

/** Per table of the record: what the restored server holds, and whether it is what was dumped. */
export function verifyRestored(record: BackupRecord, restored: Record<string, TableChecksums>): TableVerdict[] {
  return record.databases.flatMap((database) =>
    Object.entries(record.tables[database] ?? {}).map(([table, expected]) => {
      const found = restored[database]?.[table];
      return { database, table, expected, found, verified: !!found && found.rows === expected.rows && found.checksum === expected.checksum };
    }),
  );
}

export function formatVerdict(v: TableVerdict): string {
  const name = `${v.database}.${v.table}`.padEnd(28);
  if (!v.found) return `  ${name} MISSING   expected ${v.expected.rows} rows / ${v.expected.checksum}`;
  if (v.verified) return `  ${name} verified  ${v.found.rows} rows / ${v.found.checksum}`;
  return `  ${name} DIFFERS   expected ${v.expected.rows} rows / ${v.expected.checksum}, found ${v.found.rows} rows / ${v.found.checksum}`;
}
