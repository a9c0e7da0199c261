import { renameSync, writeFileSync } from "node:fs";
import { engineNames, type Engine } from "../mysql/engines.ts";
import type { TableChecksums } from "../mysql/dataset.ts";

/**
 * The record `backup-db` writes beside each dump (`FILE.json` for `FILE`):
 * what the dump holds, as measured on the server, so that `restore-db` can
 * check the file before it touches a server and verify the data after.
 */
export interface BackupRecord {
  format: typeof recordFormat;
  version: typeof recordVersion;
  dump: { file: string; bytes: number; sha256: string };
  /** The databases the dump creates (for --all-databases: the user databases the server had). */
  databases: string[];
  /** The dump holds every database, the `mysql` system schema included. */
  allDatabases: boolean;
  /** Per database, per table: rows and checksum (src/mysql/dataset.ts checksumTables). */
  tables: Record<string, TableChecksums>;
  /** When the counts and checksums were taken, relative to the dump's own snapshot. */
  measured: string;
  server: { version: string; engine: Engine };
  /** ISO 8601, UTC: when the dump started. */
  madeAt: string;
  namespace: string;
  pod: string;
}

export const recordFormat = "storage-conformance/backup-record";
export const recordVersion = 1;

/** Where the record of `dumpFile` lives. */
export const recordPath = (dumpFile: string): string => `${dumpFile}.json`;

/** Writes the record beside its dump, aside first: a half-written record never looks like one. */
export function writeRecord(dumpFile: string, record: BackupRecord): string {
  const path = recordPath(dumpFile);
  writeFileSync(`${path}.partial`, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(`${path}.partial`, path);
  return path;
}

export class RecordError extends Error {}

const sha256Pattern = /^[0-9a-f]{64}$/;
const checksumPattern = /^[0-9A-F]{8}$/;

/**
 * Parses and validates a record's text. Every problem is one RecordError
 * naming the field; the text is never quoted.
 */
export function parseRecord(text: string, shownPath: string): BackupRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RecordError(`${shownPath} is not JSON: it is not a record backup-db wrote`);
  }
  const bad = (field: string, what: string) => new RecordError(`${shownPath}: ${field} ${what}; it is not a record backup-db wrote (or it was edited)`);
  const r = value as Partial<BackupRecord> & Record<string, unknown>;
  if (typeof r !== "object" || r === null || Array.isArray(r)) throw bad("the top level", "is not an object");
  if (r.format !== recordFormat) throw bad("format", `is not "${recordFormat}"`);
  if (r.version !== recordVersion) throw bad("version", `is ${JSON.stringify(r.version)}, this restore-db reads version ${recordVersion}`);
  const dump = r.dump as BackupRecord["dump"] | undefined;
  if (!dump || typeof dump.file !== "string") throw bad("dump.file", "is missing");
  if (!Number.isSafeInteger(dump.bytes) || dump.bytes < 0) throw bad("dump.bytes", "is not a size in bytes");
  if (typeof dump.sha256 !== "string" || !sha256Pattern.test(dump.sha256)) throw bad("dump.sha256", "is not a sha256 in hex");
  if (!Array.isArray(r.databases) || !r.databases.every((d) => typeof d === "string" && d !== "")) throw bad("databases", "is not a list of names");
  if (typeof r.allDatabases !== "boolean") throw bad("allDatabases", "is not true or false");
  if (typeof r.tables !== "object" || r.tables === null) throw bad("tables", "is missing");
  for (const database of r.databases) {
    const tables = (r.tables as Record<string, unknown>)[database];
    if (typeof tables !== "object" || tables === null) throw bad(`tables.${database}`, "is missing");
    for (const [table, sum] of Object.entries(tables as Record<string, { rows?: unknown; checksum?: unknown }>)) {
      if (!Number.isSafeInteger(sum?.rows) || (sum.rows as number) < 0) throw bad(`tables.${database}.${table}.rows`, "is not a row count");
      if (typeof sum.checksum !== "string" || !checksumPattern.test(sum.checksum))
        throw bad(`tables.${database}.${table}.checksum`, "is not a checksum (8 hex digits)");
    }
  }
  const server = r.server as BackupRecord["server"] | undefined;
  if (typeof server?.version !== "string" || server.version === "") throw bad("server.version", "is missing");
  if (!(engineNames as readonly string[]).includes(server.engine)) throw bad("server.engine", `is not one of ${engineNames.join(", ")}`);
  if (typeof r.madeAt !== "string" || Number.isNaN(Date.parse(r.madeAt))) throw bad("madeAt", "is not a time");
  for (const field of ["namespace", "pod", "measured"] as const) {
    if (typeof r[field] !== "string") throw bad(field, "is missing");
  }
  return r as BackupRecord;
}
