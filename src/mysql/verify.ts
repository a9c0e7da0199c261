import type { Kube } from "../kube/client.ts";
import { timeouts } from "../timeouts.ts";
import { type Credentials, openDatabase } from "./client.ts";
import { checksumTables, compareChecksums, datasetDatabase, type TableChecksums } from "./dataset.ts";

/** What a server answered when its data was compared with what was there before a disruption. */
export interface DataComparison {
  /** performance.now() of the moment the verifying query answered. */
  answeredAt: number;
  /** Each table that differs, in words (empty: the same data). */
  differences: string[];
}

/**
 * Connects to MySQL in `pod` and compares the row counts and checksums of the
 * tables of `expected` with what the server has now. The verdict is the
 * caller's: a spec expects `differences` to be empty.
 */
export async function compareData(
  kube: Kube,
  target: { namespace: string; pod: string; credentials: Credentials },
  expected: TableChecksums,
  database: string = datasetDatabase,
): Promise<DataComparison> {
  const db = await openDatabase(kube, target.namespace, target.pod, target.credentials, timeouts.mysqlReadyMs);
  try {
    const actual = await checksumTables(db.connection, database, Object.keys(expected));
    const answeredAt = performance.now();
    return { answeredAt, differences: compareChecksums(expected, actual) };
  } finally {
    await db.close();
  }
}

/** The sentence a failed comparison is reported with: what changed, across what. */
export const dataChanged = (across: string, differences: string[]): string => `the data changed across ${across}:\n  ${differences.join("\n  ")}`;
