import { pollIntervals, timeouts } from "../timeouts.ts";
import { createConnection, type Connection } from "mysql2/promise";
import type { Kube } from "../kube/client.ts";
import { forwardPort, type Forward } from "../kube/portforward.ts";
import { waitFor } from "../kube/wait.ts";

export interface Credentials {
  user: string;
  password: string;
}

export interface Database {
  connection: Connection;
  pod: string;
  /** `SELECT VERSION()`: which server really answered (MySQL 9.7.4, 10.11.14-MariaDB-...). */
  serverVersion: string;
  close(): Promise<void>;
}

/**
 * Who wants to know each server version a connection met (the test fixture
 * records it with the check that talked to MySQL). Returns the unsubscribe.
 */
const versionObservers = new Set<(version: string) => void>();
export function observeServerVersions(observer: (version: string) => void): () => void {
  versionObservers.add(observer);
  return () => versionObservers.delete(observer);
}

/**
 * Connects to MySQL in `pod` through a port-forward, retrying until mysqld
 * accepts the credentials or the deadline passes. Wrong credentials end the
 * wait at once: retrying cannot fix them.
 */
export async function openDatabase(kube: Kube, namespace: string, pod: string, credentials: Credentials, timeoutMs: number): Promise<Database> {
  const forward: Forward = await forwardPort(kube, namespace, pod, 3306);
  try {
    const connection = await waitFor(
      () =>
        createConnection({
          host: "127.0.0.1",
          port: forward.localPort,
          user: credentials.user,
          password: credentials.password,
          connectTimeout: timeouts.mysqlConnectMs,
          multipleStatements: true,
        }).catch((error: { code?: string; message?: string }) => {
          if (error.code === "ER_ACCESS_DENIED_ERROR") return { accessDenied: error.message ?? "" } as const;
          throw error;
        }),
      (c) => !("accessDenied" in c),
      {
        what: `MySQL in pod ${namespace}/${pod} to accept connections`,
        timeoutMs,
        intervalMs: pollIntervals.clusterMs,
        deadEnd: (c) => ("accessDenied" in c ? `wrong credentials for user ${credentials.user}: check the Secret the Deployment reads` : undefined),
        describe: () => "not connected",
      },
    );
    const db = connection as Connection;
    const [rows] = await db.query("SELECT VERSION() AS v");
    const serverVersion = String((rows as { v: string }[])[0]?.v ?? "");
    for (const observe of versionObservers) observe(serverVersion);
    return {
      connection: db,
      pod,
      serverVersion,
      close: async () => {
        await db.end().catch(() => undefined);
        await forward.close();
      },
    };
  } catch (error) {
    await forward.close();
    throw error;
  }
}
