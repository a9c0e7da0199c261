import { readFileSync } from "node:fs";
import type { Connection } from "mysql2/promise";
import { projectRoot } from "../paths.ts";

export const datasetDatabase = "ecomdb";
export const datasetTables = ["customers", "products", "orders"] as const;

/** Rows and an order-independent content checksum per table. */
export type TableChecksums = Record<string, { rows: number; checksum: string }>;

/** Creates ecomdb's tables and fills them with the deterministic rows of fixtures/ecomdb/. */
export async function loadDataset(connection: Connection): Promise<void> {
  const schema = readFileSync(`${projectRoot}/fixtures/ecomdb/schema.sql`, "utf8");
  const data = readFileSync(`${projectRoot}/fixtures/ecomdb/data.sql`, "utf8");
  await connection.query(`CREATE DATABASE IF NOT EXISTS ${datasetDatabase}`);
  await connection.query(`USE ${datasetDatabase}`);
  await connection.query(schema);
  await connection.query(data);
}

/** Columns of a table in a fixed order, so the checksum covers every value. */
async function columnsOf(connection: Connection, database: string, table: string): Promise<string[]> {
  const [rows] = await connection.query(
    "SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
    [database, table],
  );
  return (rows as { c: string }[]).map((r) => r.c);
}

/** The base tables of a database, by name. */
export async function tablesOf(connection: Connection, database: string): Promise<string[]> {
  const [rows] = await connection.query(
    "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
    [database],
  );
  return (rows as { t: string }[]).map((r) => r.t);
}

/**
 * Per table: the row count and the XOR of a CRC32 over every column of every
 * row. It ignores row order and storage format, so the same data gives the
 * same checksum on another server (a restore target) too.
 */
export async function checksumTables(connection: Connection, database: string = datasetDatabase, tables?: readonly string[]): Promise<TableChecksums> {
  const result: TableChecksums = {};
  for (const [table, query] of Object.entries(await checksumQueries(connection, database, tables))) {
    const [rows] = await connection.query(query);
    const row = (rows as { n: number; x: string | null }[])[0]!;
    result[table] = { rows: Number(row.n), checksum: row.x ?? "00000000" };
  }
  return result;
}

/**
 * The query checksumTables runs per table (one row: n, x), for a client that
 * cannot run checksumTables itself (the mysql client inside a pod). A missing
 * table has none: it shows as "missing" in compareChecksums.
 */
export async function checksumQueries(connection: Connection, database: string = datasetDatabase, tables?: readonly string[]): Promise<Record<string, string>> {
  const queries: Record<string, string> = {};
  for (const table of tables ?? (database === datasetDatabase ? datasetTables : await tablesOf(connection, database))) {
    const columns = await columnsOf(connection, database, table);
    if (columns.length === 0) continue;
    const concat = `CONCAT_WS('|', ${columns.map((c) => `COALESCE(\`${c}\`, '∅')`).join(", ")})`;
    queries[table] = `SELECT COUNT(*) AS n, LPAD(HEX(BIT_XOR(CRC32(${concat}))), 8, '0') AS x FROM \`${database}\`.\`${table}\``;
  }
  return queries;
}

/** The differences between two checksum sets, one line per table; empty when identical. */
export function compareChecksums(expected: TableChecksums, actual: TableChecksums): string[] {
  const lines: string[] = [];
  for (const table of Object.keys(expected)) {
    const e = expected[table]!;
    const a = actual[table];
    if (!a) lines.push(`${table}: the table is gone (expected ${e.rows} rows)`);
    else if (a.rows !== e.rows || a.checksum !== e.checksum) {
      lines.push(`${table}: expected ${e.rows} rows / checksum ${e.checksum}, found ${a.rows} rows / checksum ${a.checksum}`);
    }
  }
  return lines;
}
