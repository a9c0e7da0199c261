// Reading sysbench 1.0.20's final report and the server's InnoDB counters
// around a run. Pure: the suite runs the commands and hands the text here.

export type SysbenchWorkload = "oltp_write_only" | "oltp_read_write";

export interface SysbenchResult {
  workload: SysbenchWorkload;
  transactions: number;
  /** Transactions a second, as sysbench printed it (two decimals). */
  tps: number;
  /** Queries a second, as sysbench printed it. */
  qps: number;
  /** 95th percentile of a transaction's latency. */
  p95Ms: number;
  /** Errors sysbench ignored and retried (deadlocks, lock wait timeouts: --mysql-ignore-errors). */
  errors: number;
  reconnects: number;
  /** The run's length as sysbench measured it. */
  timeS: number;
}

// The lines of the final report (db_report_cumulative in src/db_driver.c and
// sb_report_cumulative in src/sysbench.c of sysbench 1.0.20), e.g.
//     transactions:                        8734   (291.10 per sec.)
//          95th percentile:                       20.37
// Interval lines ("[ 10s ] thds: 4 tps: ...") never match these.
const reportLines = {
  transactions: { what: "transactions: N (X per sec.)", pattern: /^\s*transactions:\s+(\d+)\s+\(([\d.]+) per sec\.\)/m },
  queries: { what: "queries: N (X per sec.)", pattern: /^\s*queries:\s+(\d+)\s+\(([\d.]+) per sec\.\)/m },
  errors: { what: "ignored errors: N", pattern: /^\s*ignored errors:\s+(\d+)\s/m },
  reconnects: { what: "reconnects: N", pattern: /^\s*reconnects:\s+(\d+)\s/m },
  time: { what: "total time: Xs", pattern: /^\s*total time:\s+([\d.]+)s\s*$/m },
  p95: { what: "95th percentile: X (under Latency (ms):)", pattern: /^\s*95th percentile:\s+([\d.]+)\s*$/m },
} as const;

/** The final report of `sysbench <workload> ... run`; a run that died before it (no server, a FATAL error) is an Error naming the first missing line. */
export function parseSysbench(workload: SysbenchWorkload, text: string): SysbenchResult {
  const numbers = (line: keyof typeof reportLines): number[] => {
    const { what, pattern } = reportLines[line];
    const match = pattern.exec(text);
    if (!match) {
      throw new Error(`sysbench ${workload}: the report has no "${what}" line (did the run finish?); its output ended: ${JSON.stringify(text.slice(-300))}`);
    }
    return match.slice(1).map(Number);
  };
  const [transactions, tps] = numbers("transactions") as [number, number];
  const [, qps] = numbers("queries") as [number, number];
  return {
    workload,
    transactions,
    tps,
    qps,
    p95Ms: numbers("p95")[0]!,
    errors: numbers("errors")[0]!,
    reconnects: numbers("reconnects")[0]!,
    timeS: numbers("time")[0]!,
  };
}

/** The server counters read before and after a run: what the storage was asked to do for the transactions measured. */
export const innodbCounters: readonly string[] = [
  "Innodb_data_fsyncs",
  "Innodb_os_log_written",
  "Innodb_buffer_pool_reads",
  "Innodb_buffer_pool_read_requests",
  "Innodb_data_written",
  "Innodb_data_read",
  "Innodb_log_writes",
  "Innodb_row_lock_waits",
  "Innodb_rows_inserted",
  "Innodb_rows_updated",
  "Innodb_rows_read",
  "Com_commit",
];

/** `mysql -N -B -e "SHOW GLOBAL STATUS"`: NAME<TAB>VALUE lines; values that are not numbers (ON, empty, status texts) are left out. */
export function parseStatus(text: string): Record<string, number> {
  const status: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const tab = line.indexOf("\t");
    if (tab < 0) continue;
    const value = line.slice(tab + 1).trim();
    if (/^-?\d+(\.\d+)?$/.test(value)) status[line.slice(0, tab).trim()] = Number(value);
  }
  return status;
}

/** after - before of each counter both readings have. A counter that went down means the server started again in between, and the difference would be a lie. */
export function counterDeltas(
  before: Record<string, number>,
  after: Record<string, number>,
  names: readonly string[] = innodbCounters,
): Record<string, number> {
  const deltas: Record<string, number> = {};
  for (const name of names) {
    const first = before[name];
    const last = after[name];
    if (first === undefined || last === undefined) continue;
    if (last < first) {
      throw new Error(`${name} went down from ${first} to ${last}: the server restarted during the measurement (its counters start again at 0)`);
    }
    deltas[name] = last - first;
  }
  return deltas;
}
