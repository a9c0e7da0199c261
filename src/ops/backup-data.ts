import type { Connection } from "mysql2/promise";
import { engineOfVersion } from "../mysql/engines.ts";
import { checksumTables, tablesOf, type TableChecksums } from "../mysql/dataset.ts";
import { recordFormat, recordVersion, type BackupRecord } from "./backup-record.ts";
import type { ExistingTables } from "./restore.ts";

/**
 * What backup-db and restore-db ask the server: which databases there are,
 * their tables, and per table rows and checksum.
 */

const systemDatabases = new Set(["mysql", "sys", "information_schema", "performance_schema"]);

/** The server's databases other than its own system schemas. */
export async function userDatabases(connection: Connection): Promise<string[]> {
  const [rows] = await connection.query("SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME");
  return (rows as { s: string }[]).map((r) => r.s).filter((s) => !systemDatabases.has(s));
}

/**
 * Rows and checksum of every table of `databases`, all read in one
 * consistent snapshot (a transaction opened WITH CONSISTENT SNAPSHOT), so the
 * tables agree with each other even while the server takes writes.
 */
export async function measureDatabases(connection: Connection, databases: string[]): Promise<Record<string, TableChecksums>> {
  await connection.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
  try {
    const measured: Record<string, TableChecksums> = {};
    for (const database of databases) measured[database] = await checksumTables(connection, database, await tablesOf(connection, database));
    return measured;
  } finally {
    await connection.query("COMMIT");
  }
}

/** The named tables of each database, as a restore left them (a table that is gone is absent). */
export async function measureRestored(connection: Connection, record: BackupRecord): Promise<Record<string, TableChecksums>> {
  const measured: Record<string, TableChecksums> = {};
  for (const database of record.databases) measured[database] = await checksumTables(connection, database, Object.keys(record.tables[database] ?? {}));
  return measured;
}

/** Per database: its tables, or undefined when the server has no such database. */
export async function existingTables(connection: Connection, databases: string[]): Promise<ExistingTables> {
  const present = new Set(await userDatabases(connection));
  const existing: ExistingTables = {};
  for (const database of databases) existing[database] = present.has(database) ? await tablesOf(connection, database) : undefined;
  return existing;
}

/** `name` quoted as a MySQL identifier. */
export const quoteIdentifier = (name: string): string => `\`${name.replace(/`/g, "``")}\``;

export const measuredWhen =
  "right after the dump, in one consistent snapshot of its own (not the dump's transaction): writes between the two would show as a difference at restore";

/** The record of a dump, from what the dump and the server said. */
export function makeRecord(facts: {
  file: string;
  bytes: number;
  sha256: string;
  allDatabases: boolean;
  tables: Record<string, TableChecksums>;
  serverVersion: string;
  madeAt: Date;
  namespace: string;
  pod: string;
}): BackupRecord {
  return {
    format: recordFormat,
    version: recordVersion,
    dump: { file: facts.file.split("/").pop()!, bytes: facts.bytes, sha256: facts.sha256 },
    databases: Object.keys(facts.tables),
    allDatabases: facts.allDatabases,
    tables: facts.tables,
    measured: measuredWhen,
    server: { version: facts.serverVersion, engine: engineOfVersion(facts.serverVersion) },
    madeAt: facts.madeAt.toISOString(),
    namespace: facts.namespace,
    pod: facts.pod,
  };
}
