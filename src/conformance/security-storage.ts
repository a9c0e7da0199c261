/**
 * Who can read the data where it is stored. At rest ("Encrypted storage
 * (production environments)"): a marker row written through SQL, MySQL
 * restarted (a clean shutdown writes every dirty page and the logs, so the
 * row is on disk if it is anywhere), the claim's files searched for the
 * marker from the MySQL container (what anything that reads the volume
 * sees: a second pod, the node's directory, a copy of the disk), and the row
 * read back through SQL. Who can mount ("Volume accessible only to MySQL
 * pods"): a pod without MySQL's or the application's labels mounting the
 * claim on MySQL's node while MySQL runs.
 */
import { randomBytes } from "node:crypto";
import type { V1Pod } from "@kubernetes/client-node";
import { secondsSince } from "../clock.ts";
import { describeApiError } from "../kube/client.ts";
import { execChecked, execInPod } from "../kube/exec.ts";
import { nameOf } from "../kube/names.ts";
import type { DeployedSetup } from "../design/deployment.ts";
import { timeouts } from "../timeouts.ts";
import { probeSecondPod } from "./mounts.ts";
import type { AtRestFacts, WhoCanMountFacts } from "./security.ts";

/** The schema and table the marker row lives in (a schema of its own: created after start, it takes the server's default encryption). */
export const markerTable = { database: "sc_security", table: "marker" } as const;

/** A marker no file holds by chance: random per run. */
export const newMarker = (): string => `sc-marker-${randomBytes(8).toString("hex")}`;

/** The server settings that encrypt what reaches the disk, as SHOW GLOBAL VARIABLES names them. */
export const encryptionSettings = ["default_table_encryption", "innodb_redo_log_encrypt", "innodb_undo_log_encrypt", "binlog_encryption"] as const;

/**
 * Counts the files under `dir`, then lists those holding `marker` (grep
 * skips devices and sockets), then prints grep's exit status: the marker and
 * the directory are arguments, never spliced into the script.
 */
export function searchCommand(dir: string, marker: string): string[] {
  return ["sh", "-c", 'find "$1" -type f | wc -l; grep -rlF --devices=skip -e "$2" "$1"; echo "exit=$?"', "sh", dir, marker];
}

/** What searchCommand printed: the files searched, those holding the marker (relative to `dir`); throws when grep failed and found nothing. */
export function parseSearch(stdout: string, stderr: string, dir: string): { filesSearched: number; found: string[] } {
  const lines = stdout.split("\n").filter(Boolean);
  const exit = Number(/^exit=(\d+)$/.exec(lines.at(-1) ?? "")?.[1] ?? Number.NaN);
  const filesSearched = Number(lines[0]);
  if (!Number.isFinite(exit) || !Number.isFinite(filesSearched))
    throw new Error(`searching ${dir} printed ${JSON.stringify(stdout.slice(0, 200))}; stderr: ${stderr.trim().split("\n")[0] ?? ""}`);
  const prefix = `${dir.replace(/\/+$/, "")}/`;
  const found = lines.slice(1, -1).map((f) => (f.startsWith(prefix) ? f.slice(prefix.length) : f));
  // grep: 0 found, 1 none, 2 trouble (an unreadable file; what it did read still counts).
  if (exit === 2 && found.length === 0) throw new Error(`searching ${dir} failed: ${stderr.trim().split("\n").slice(0, 3).join(" | ")}`);
  return { filesSearched, found };
}

/** Deletes MySQL's Ready pod and waits for its replacement to be Ready: a clean shutdown of mysqld, then a start. */
async function restartMysql(setup: DeployedSetup): Promise<number> {
  const old = nameOf(await setup.waitForReadyPod());
  const started = performance.now();
  await setup.kube.core.deleteNamespacedPod({ name: old, namespace: setup.namespace }).catch((error: unknown) => {
    throw new Error(`deleting MySQL's pod ${old} to restart it: ${describeApiError(error)}`);
  });
  await setup.waitForReadyPod({ exclude: old });
  return secondsSince(started);
}

type Row = Record<string, unknown>;

/** Writes the marker, restarts MySQL, searches the data directory for it and reads it back. */
export async function probeAtRest(setup: DeployedSetup): Promise<AtRestFacts> {
  const marker = newMarker();
  const table = `${markerTable.database}.${markerTable.table}`;
  const writer = await setup.open();
  try {
    await writer.connection.query(`CREATE DATABASE IF NOT EXISTS ${markerTable.database}`);
    await writer.connection.query(`CREATE TABLE IF NOT EXISTS ${table} (id INT PRIMARY KEY, secret VARCHAR(64) NOT NULL)`);
    await writer.connection.query(`REPLACE INTO ${table} VALUES (1, ?)`, [marker]);
  } finally {
    await writer.close();
  }
  const restartSeconds = await restartMysql(setup);
  const pod = await setup.waitForReadyPod();
  const dir = setup.dataDir;
  const search = await execInPod(
    setup.kube,
    { namespace: setup.namespace, pod: nameOf(pod), container: setup.workload.container.name },
    searchCommand(dir, marker),
    {
      timeoutMs: timeouts.execMs,
    },
  );
  const { filesSearched, found } = parseSearch(search.stdout, search.stderr, dir);
  const db = await setup.open();
  try {
    const [rows] = await db.connection.query(`SELECT secret FROM ${table} WHERE id = 1`);
    const served = (rows as Row[])[0]?.secret === marker;
    const [variables] = await db.connection.query(
      `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${[...encryptionSettings, "plugin_dir"].map((v) => `'${v}'`).join(", ")})`,
    );
    const settings = Object.fromEntries((variables as Row[]).map((r) => [String(r.Variable_name), String(r.Value)]));
    // MySQL's views; MariaDB has neither (its encryption is another plugin): unknown there.
    const tableEncrypted = await db.connection
      .query("SELECT ENCRYPTION FROM information_schema.INNODB_TABLESPACES WHERE NAME = ?", [`${markerTable.database}/${markerTable.table}`])
      .then(([r]) => {
        const value = (r as Row[])[0]?.ENCRYPTION;
        return value === undefined ? undefined : value === "Y";
      })
      .catch(() => undefined);
    const keyring = await db.connection
      .query("SELECT STATUS_KEY, STATUS_VALUE FROM performance_schema.keyring_component_status")
      .then(([r]) => {
        const status = Object.fromEntries((r as Row[]).map((row) => [String(row.STATUS_KEY), String(row.STATUS_VALUE)]));
        return status.Component_name ? `${status.Component_name} ${status.Component_status ?? ""}`.trim() : undefined;
      })
      .catch(() => undefined);
    return {
      dataDir: dir,
      table,
      filesSearched,
      found,
      served,
      settings,
      ...(tableEncrypted === undefined ? {} : { tableEncrypted }),
      ...(keyring ? { keyring } : {}),
      restartSeconds,
    };
  } finally {
    await db.close();
  }
}

/**
 * Leaves a file in the data directory through MySQL's pod, starts a pod
 * without MySQL's or the application's labels that mounts the claim on the
 * same node and prints the file (mounts.ts's second pod), and removes the file.
 */
export async function probeWhoCanMount(setup: DeployedSetup): Promise<WhoCanMountFacts> {
  const pod: V1Pod = await setup.waitForReadyPod();
  const target = { namespace: setup.namespace, pod: nameOf(pod), container: setup.workload.container.name };
  const marker = { file: `.storage-conformance-${randomBytes(4).toString("hex")}`, content: `written through pod ${target.pod}` };
  const path = `${setup.dataDir}/${marker.file}`;
  await execChecked(setup.kube, target, ["sh", "-c", 'printf "%s" "$1" > "$2"', "sh", marker.content, path], timeouts.execMs);
  try {
    const claim = await setup.kube.core.readNamespacedPersistentVolumeClaim({ name: setup.claimName, namespace: setup.namespace }).catch((error: unknown) => {
      throw new Error(`reading PersistentVolumeClaim ${setup.claimName}: ${describeApiError(error)}`);
    });
    const second = await probeSecondPod(setup, pod, marker);
    return { claim: setup.claimName, accessModes: claim.spec?.accessModes ?? [], node: pod.spec?.nodeName ?? "?", ...second };
  } finally {
    await execInPod(setup.kube, target, ["rm", "-f", path], { timeoutMs: timeouts.cleanupMs }).catch(() => undefined);
  }
}
