/**
 * A full data claim: filled (a file beside MySQL's up to a threshold, then
 * MySQL's own rows) until MySQL can no longer write, what it did then, and
 * how soon it wrote again once the space was freed.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { DeployedSetup } from "../design/deployment.ts";
import type { FilesystemUsage } from "../design/usage.ts";
import { withHelperPod } from "../kube/claim-pod.ts";
import { execChecked } from "../kube/exec.ts";
import { nameOf } from "../kube/names.ts";
import { WaitError, waitFor } from "../kube/wait.ts";
import { parseWriterLog } from "../ledger/analysis.ts";
import type { LedgerWriter } from "../ledger/writer.ts";
import { isPodReady } from "../kube/waits.ts";
import { collectDiagnostics } from "../kube/diagnostics.ts";
import { openDatabase } from "../mysql/client.ts";
import { pollIntervals, timeouts } from "../timeouts.ts";
import { ballastBytes, type FullDiskObservation } from "./storage.ts";
import { dataDirFilesystem } from "./storage-expansion.ts";

/** The filler's database, qualified in every statement (the connection has no default database). */
export const fillTable = { database: "sc_fill", table: "filler", probe: "probe" } as const;
/** Each filler row: 1 MiB, written by the server itself (REPEAT), so the statement stays small. */
const fillRowBytes = 2 ** 20;
/** The ballast's name prefix in the data directory (a dot file: mysqld takes it for no database). */
const ballastPrefix = ".sc-ballast-";

/** The rows the filler inserts, and the probe's table; both created before the claim fills. */
export const fillSql = {
  create: [
    `CREATE DATABASE IF NOT EXISTS ${fillTable.database}`,
    `CREATE TABLE IF NOT EXISTS ${fillTable.database}.${fillTable.table} (id BIGINT AUTO_INCREMENT PRIMARY KEY, b LONGBLOB NOT NULL) ENGINE=InnoDB`,
    `CREATE TABLE IF NOT EXISTS ${fillTable.database}.${fillTable.probe} (id BIGINT AUTO_INCREMENT PRIMARY KEY, t TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB`,
  ],
  insert: `INSERT INTO ${fillTable.database}.${fillTable.table} (b) VALUES (REPEAT('x', ${fillRowBytes}))`,
  probe: `INSERT INTO ${fillTable.database}.${fillTable.probe} () VALUES ()`,
} as const;

const mysqlTarget = (setup: DeployedSetup, pod: string) => ({ namespace: setup.namespace, pod, container: setup.workload.container.name });

/**
 * Adds a file to the data directory so that `targetPercent` of the
 * filesystem is used (fallocate, dd where it cannot), through MySQL's own
 * container. Returns the filesystem afterwards.
 */
export async function addBallast(setup: DeployedSetup, pod: string, targetPercent: number, index: number): Promise<FilesystemUsage> {
  const bytes = ballastBytes(await dataDirFilesystem(setup, pod), targetPercent);
  if (bytes > 0) {
    const file = `${setup.dataDir}/${ballastPrefix}${index}`;
    const script = 'fallocate -l "$1" "$2" 2>/dev/null || dd if=/dev/zero of="$2" bs=1M count="$3" status=none';
    await execChecked(setup.kube, mysqlTarget(setup, pod), ["sh", "-c", script, "sh", String(bytes), file, String(bytes / 2 ** 20)], timeouts.diskFillMs);
  }
  return dataDirFilesystem(setup, pod);
}

/** Creates the filler's tables (before the claim is nearly full). */
export async function prepareFiller(setup: DeployedSetup): Promise<void> {
  const db = await setup.open();
  try {
    for (const statement of fillSql.create) await db.connection.query(statement);
  } finally {
    await db.close();
  }
}

/** A promise's value, or "timeout" when it takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** What the filler saw: rows written, then MySQL's first refusal, or a write that did not answer. */
export interface FillResult {
  rows: number;
  fill_s: number;
  error?: string;
  hungS?: number;
  /** When the first write failed or stopped answering (Unix ms): the disk was full. */
  fullAtMs: number;
}

/**
 * Inserts 1 MiB rows into sc_fill.filler until MySQL refuses one or one does
 * not answer within the query deadline (mysqlQueryMs), for at most diskFillMs.
 */
export async function fillUntilRefused(setup: DeployedSetup): Promise<FillResult> {
  const db = await setup.open();
  const started = performance.now();
  let rows = 0;
  try {
    while (performance.now() - started < timeouts.diskFillMs) {
      const outcome = await within(
        db.connection.query(fillSql.insert).then(
          () => "ok" as const,
          (error: { code?: string; errno?: number; message?: string }) => `${error.errno ?? error.code ?? "?"} ${error.message ?? String(error)}`,
        ),
        timeouts.mysqlQueryMs,
      );
      if (outcome === "ok") {
        rows++;
        continue;
      }
      const fill_s = +((performance.now() - started) / 1000).toFixed(2);
      if (outcome === "timeout") return { rows, fill_s, hungS: timeouts.mysqlQueryMs / 1000, fullAtMs: Date.now() - timeouts.mysqlQueryMs };
      return { rows, fill_s, error: outcome.slice(0, 240), fullAtMs: Date.now() };
    }
    throw new Error(
      `MySQL accepted ${rows} rows of 1 MiB in ${timeouts.diskFillMs / 1000} s and the claim did not fill: does its class enforce the claim's size? (df in the pod shows the filesystem)`,
    );
  } finally {
    // A hung statement would hold close() forever: the socket goes, the server's thread with it.
    db.connection.destroy();
    await db.close().catch(() => undefined);
  }
}

/** MySQL's log lines about the full disk (errno 28, "Disk is full", the binary log's error action). */
export async function fullDiskLogLines(setup: DeployedSetup, pod: string, previous: boolean): Promise<string[]> {
  const log = await setup.kube.core
    .readNamespacedPodLog({ name: pod, namespace: setup.namespace, container: setup.workload.container.name, previous })
    .catch(() => "");
  const lines = log
    .split("\n")
    .filter((l) => /No space left|errno: 28|errno 28|Disk is full|disk full|is full|binlog_error_action|ABORT_SERVER|\[ERROR\]/i.test(l))
    .map((l) =>
      l
        .replace(/^\S+\s+/, "")
        .trim()
        .slice(0, 240),
    );
  return [...new Set(lines)].slice(0, 8);
}

/** Whether a new connection still gets an answer to SELECT 1 (within the query deadline). */
async function readsServed(setup: DeployedSetup, pod: V1Pod | undefined): Promise<boolean> {
  if (!pod || !isPodReady(pod)) return false;
  try {
    const db = await openDatabase(setup.kube, setup.namespace, nameOf(pod), await setup.rootCredentials(), timeouts.mysqlQueryMs);
    try {
      return (await within(db.connection.query("SELECT 1"), timeouts.mysqlQueryMs)) !== "timeout";
    } finally {
      db.connection.destroy();
      await db.close().catch(() => undefined);
    }
  } catch {
    return false;
  }
}

/** MySQL's pod as it is now (the first non-terminating one of the workload). */
async function currentPod(setup: DeployedSetup): Promise<V1Pod | undefined> {
  const pods = (await setup.kube.core.listNamespacedPod({ namespace: setup.namespace, labelSelector: setup.selector })).items;
  return pods.find((p) => !p.metadata?.deletionTimestamp);
}

/** What MySQL did with its claim full: restarts since `restartsBefore`, whether reads were served, its log. */
export async function observeFullDisk(setup: DeployedSetup, fill: FillResult, restartsBefore: number): Promise<FullDiskObservation> {
  const pod = await currentPod(setup);
  const restarts = (pod ? (setup.mysqlContainerStatus(pod)?.restartCount ?? 0) : 0) - restartsBefore;
  const served = await readsServed(setup, pod);
  const name = pod ? nameOf(pod) : undefined;
  const logLines = name ? [...(restarts > 0 ? await fullDiskLogLines(setup, name, true) : []), ...(await fullDiskLogLines(setup, name, false))] : [];
  return {
    ...(fill.error ? { fillerError: fill.error } : {}),
    ...(fill.hungS !== undefined ? { fillerHungS: fill.hungS } : {}),
    restarts,
    readsServed: served,
    logLines: [...new Set(logLines)].slice(0, 8),
  };
}

/**
 * Frees the space (removes the ballast) and measures until a new connection
 * commits a row again. Through MySQL's container when it runs, else through a
 * helper pod on its node that mounts the claim (a crashed mysqld's container
 * cannot be exec'd into).
 */
export async function freeSpaceAndMeasure(setup: DeployedSetup): Promise<{ freedAtMs: number; recovered_s: number; via: string }> {
  const pod = await currentPod(setup);
  const remove = ["sh", "-c", `rm -f "$1"/${ballastPrefix}*`, "sh"];
  let via = "MySQL's container";
  const viaMysql = pod
    ? await execChecked(setup.kube, mysqlTarget(setup, nameOf(pod)), [...remove, setup.dataDir], timeouts.execMs).then(
        () => true,
        () => false,
      )
    : false;
  if (!viaMysql) {
    via = "a helper pod on MySQL's node";
    const image = setup.workload.container.image!;
    await withHelperPod(
      setup.kube,
      setup.namespace,
      {
        purpose: "free-space",
        ...(pod?.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
        container: { image, command: ["sleep", "600"], volumeMounts: [{ name: "claim", mountPath: "/claim" }] },
        volumes: [{ name: "claim", persistentVolumeClaim: { claimName: setup.claimName } }],
      },
      (helper) => execChecked(setup.kube, { namespace: setup.namespace, pod: helper, container: "helper" }, [...remove, "/claim"], timeouts.execMs),
    );
  }
  const freedAtMs = Date.now();
  const credentials = await setup.rootCredentials();
  await waitFor(
    async () => {
      const ready = (await setup.kube.core.listNamespacedPod({ namespace: setup.namespace, labelSelector: setup.selector })).items.find(isPodReady);
      if (!ready) return "no Ready MySQL pod";
      const db = await openDatabase(setup.kube, setup.namespace, nameOf(ready), credentials, timeouts.mysqlQueryMs);
      try {
        const answer = await within(db.connection.query(fillSql.probe), timeouts.mysqlQueryMs);
        return answer === "timeout" ? "the write did not answer" : "committed";
      } finally {
        db.connection.destroy();
        await db.close().catch(() => undefined);
      }
    },
    (state) => state === "committed",
    {
      what: `MySQL to commit a row again after the space was freed (via ${via})`,
      signal: setup.kube.signal,
      timeoutMs: timeouts.podReadyMs,
      intervalMs: pollIntervals.clusterMs,
      describe: (state) => state,
      diagnose: async () => (await collectDiagnostics(setup.kube, setup.namespace)).summary,
    },
  );
  return { freedAtMs, recovered_s: +((Date.now() - freedAtMs) / 1000).toFixed(2), via };
}

/**
 * Waits, at most the recovery budget, for the application's writes to meet
 * the full disk: the ledger writer's commits failing or left in doubt since
 * `sinceMs`, or mysqld restarting. Writes that simply stop answering are a
 * fact to report, not a failure: the last state seen is returned either way.
 */
export async function waitForWritesToMeetFullDisk(
  setup: DeployedSetup,
  writer: LedgerWriter,
  sinceMs: number,
  restartsBefore: number,
): Promise<{ unacknowledged: number; restarted: boolean }> {
  let last = { unacknowledged: 0, restarted: false };
  await waitFor(
    async () => {
      const commits = parseWriterLog(await writer.logText(sinceMs).catch(() => "")).commits.filter((c) => c.tDoneMs >= sinceMs);
      const pod = await currentPod(setup);
      const restarts = pod ? (setup.mysqlContainerStatus(pod)?.restartCount ?? 0) : 0;
      last = { unacknowledged: commits.filter((c) => c.state !== "ack").length, restarted: restarts > restartsBefore };
      return last;
    },
    (seen) => seen.unacknowledged >= 10 || seen.restarted,
    {
      what: "the ledger writer's commits to fail on the full disk",
      signal: setup.kube.signal,
      timeoutMs: timeouts.recoveryBudgetMs,
      intervalMs: pollIntervals.clusterMs,
      describe: (seen) => JSON.stringify(seen),
    },
  ).catch((error: unknown) => {
    if (!(error instanceof WaitError)) throw error;
  });
  return last;
}
