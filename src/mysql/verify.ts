import type { Kube } from "../kube/client.ts";
import { openDatabase, type Credentials } from "./client.ts";
import { checksumTables, compareChecksums, datasetDatabase, type TableChecksums } from "./dataset.ts";
import { timeouts } from "../timeouts.ts";

/**
 * Connects to MySQL in `pod` and checks the tables of `expected` have the same
 * row counts and checksums; throws naming each table that differs, and `across`
 * (what happened in between). Resolves with performance.now() of the moment
 * the verifying query answered.
 */
export async function verifySameData(
  kube: Kube,
  target: { namespace: string; pod: string; credentials: Credentials },
  expected: TableChecksums,
  across: string,
  database: string = datasetDatabase,
): Promise<number> {
  const db = await openDatabase(kube, target.namespace, target.pod, target.credentials, timeouts.mysqlReadyMs);
  try {
    const actual = await checksumTables(db.connection, database, Object.keys(expected));
    const answeredAt = performance.now();
    const differences = compareChecksums(expected, actual);
    if (differences.length) throw new Error(`the data changed across ${across}:\n  ${differences.join("\n  ")}`);
    return answeredAt;
  } finally {
    await db.close();
  }
}
