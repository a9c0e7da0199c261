// The ledger table the writer (images/writer) fills: read back after recovery.
import type { Connection } from "mysql2/promise";

/** The database the suite's writer keeps its table in (passed as its -database): a name no application uses. */
export const ledgerDatabase = "storage_conformance_ledger";

/** One row of the ledger table, as stored. */
export interface LedgerRow {
  writer: number;
  seq: number;
  payload: string;
  /** CRC-32 of the payload, computed by the writer before it sent the row. */
  payloadCrc: number;
  /** hostname@start of the server that committed the row. */
  serverIdentity: string;
  /** The table's AUTO_INCREMENT key: two rows of one commit with one id would be an index read, not a second insert. */
  id?: number;
}

/**
 * Every row of one run, duplicates included: the table's key is an
 * AUTO_INCREMENT id, so a commit stored twice shows as two rows.
 */
export async function readLedgerRows(connection: Connection, run: string, database: string = ledgerDatabase): Promise<LedgerRow[]> {
  let rows: unknown;
  try {
    [rows] = await connection.query(
      `SELECT id, writer, seq, payload, payload_crc, server_identity FROM \`${database}\`.ledger WHERE run = ? ORDER BY writer, seq, id`,
      [run],
    );
  } catch (error) {
    // The database or its table gone after a disruption (a disk that lied about the DDL's fsync):
    // no row survived, which the verdict then counts against every acknowledged commit.
    if (ledgerGone(error)) return [];
    throw error;
  }
  return (rows as { id: number | string; writer: number; seq: number | string; payload: string; payload_crc: number | string; server_identity: string }[]).map(
    (r) => ({
      id: Number(r.id),
      writer: Number(r.writer),
      seq: Number(r.seq),
      payload: r.payload,
      payloadCrc: Number(r.payload_crc),
      serverIdentity: r.server_identity,
    }),
  );
}

/** The server variables that decide whether an acknowledged commit survives a crash. */
export const durabilityVariables = [
  "innodb_flush_log_at_trx_commit",
  "innodb_flush_log_at_timeout",
  // MySQL 8.0.22+: whether dedicated threads write the redo log buffer to the OS (then trx_commit=0 loses little at a mysqld crash).
  "innodb_log_writer_threads",
  "sync_binlog",
  "log_bin",
  "innodb_doublewrite",
  "innodb_flush_method",
  // MariaDB 11 replaces innodb_flush_method with these.
  "innodb_log_file_buffering",
  "innodb_log_file_write_through",
  "innodb_data_file_buffering",
  "innodb_data_file_write_through",
] as const;

/** The durability variables the server has (each server knows only some), by name. */
export async function readDurabilitySettings(connection: Connection): Promise<Record<string, string>> {
  const [rows] = await connection.query(`SHOW GLOBAL VARIABLES WHERE Variable_name IN (${durabilityVariables.map(() => "?").join(", ")})`, [
    ...durabilityVariables,
  ]);
  return Object.fromEntries((rows as { Variable_name: string; Value: string }[]).map((r) => [r.Variable_name, r.Value]));
}

/** ER_BAD_DB_ERROR (1049) or ER_NO_SUCH_TABLE (1146): the ledger's database or table does not exist. */
export const ledgerGone = (error: unknown): boolean => [1049, 1146].includes((error as { errno?: number }).errno ?? 0);

/** Whether the ledger's table exists (it vanishes with its database when a disk lied about the DDL). */
export async function ledgerTableExists(connection: Connection, database: string = ledgerDatabase): Promise<boolean> {
  const [rows] = await connection.query("SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = ? AND table_name = 'ledger'", [database]);
  return Number((rows as { n: number | string }[])[0]?.n ?? 0) > 0;
}
