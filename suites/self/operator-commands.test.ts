import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll } from "vitest";
import type { ClusterInfo } from "../../src/cluster/index.ts";
import type { DeployedSetup } from "../../src/design/deployment.ts";
import { secondsSince } from "../../src/clock.ts";
import type { Kube } from "../../src/kube/client.ts";
import type { LoadedObject } from "../../src/manifests/load.ts";
import { secretValues } from "../../src/manifests/secrets.ts";
import { projectRoot } from "../../src/paths.ts";
import { timeouts } from "../../src/timeouts.ts";
import { describe, designPerFile, expect, test } from "../support/test.ts";

// The design's operator commands, run as a user runs them (a process, a
// kubeconfig file, a namespace) against one deployment of the design's setup.
const design = designPerFile("operator-commands", { dataset: false });
const dir = mkdtempSync(join(tmpdir(), "sc-tools-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const budgetS = timeouts.recoveryBudgetMs / 1000;

interface Ran {
  code: number | undefined;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** The setup, and a runner of the commands against it that fails the check if a command prints a secret. */
async function commands(fixtures: { kube: Kube; manifests: LoadedObject[]; cluster: ClusterInfo }) {
  const { setup } = await design(fixtures);
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(kubeconfig, fixtures.cluster.kubeconfig, { mode: 0o600 });
  const secrets = secretValues(fixtures.manifests);
  const tool = async (name: string, ...args: string[]): Promise<Ran> => {
    const started = performance.now();
    const result = await execa(process.execPath, [`${projectRoot}/bin/storage-conformance.js`, name, "--kubeconfig", kubeconfig, ...args], {
      reject: false,
      cwd: dir,
      timeout: 300_000,
    });
    const output = `${result.stdout}\n${result.stderr}`;
    for (const secret of secrets) expect(output.includes(secret), `${name} printed a secret value`).toBe(false);
    return { code: result.exitCode, stdout: result.stdout, stderr: result.stderr, seconds: secondsSince(started) };
  };
  return { setup, namespace: setup.namespace, tool };
}

/** A database of `rows` rows in one table, for the commands that dump and restore one database. */
async function probeDatabase(setup: DeployedSetup, name: string, rows: number): Promise<void> {
  const probe = await setup.open();
  try {
    await probe.connection.query(`CREATE DATABASE ${name}`);
    await probe.connection.query(`CREATE TABLE ${name}.items (id INT PRIMARY KEY, label VARCHAR(32))`);
    await probe.connection.query(
      `INSERT INTO ${name}.items SELECT seq, CONCAT('item-', seq) FROM (WITH RECURSIVE s(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM s WHERE seq < ${rows}) SELECT seq FROM s) AS numbers`,
    );
  } finally {
    await probe.close();
  }
}

async function query<T>(setup: DeployedSetup, sql: string): Promise<T> {
  const db = await setup.open();
  try {
    return (await db.connection.query(sql))[0] as T;
  } finally {
    await db.close();
  }
}

describe("the operator commands", () => {
  test("storage-status reports the claim, the pod and the mount, in text and JSON, and names a missing namespace or kubeconfig", async ({
    cluster,
    kube,
    manifests,
    record,
  }) => {
    const { namespace, tool } = await commands({ kube, manifests, cluster });
    const status = await tool("storage-status", "--namespace", namespace);
    expect(status.code, `storage-status exited ${status.code}:\n${status.stdout}\n${status.stderr}`).toBe(0);
    expect(status.stdout).toMatch(/claim\s+mysql-pvc: Bound, 1Gi \(requested 1Gi\), ReadWriteOnce, class standard/);
    expect(status.stdout).toMatch(/pod\s+mysql-\S+: Running, Ready/);
    expect(status.stdout).toMatch(/mount\s+\/var\/lib\/mysql\n/);
    record("storage_status_s", status.seconds, "s");
    const json = JSON.parse((await tool("storage-status", "--namespace", namespace, "--output-format", "json")).stdout);
    expect(json.claim.phase).toBe("Bound");
    expect(json.usage.usedBytes, "MySQL's files on the claim, from du").toBeGreaterThan(1_000_000);
    record("mysql_files_bytes", json.usage.usedBytes, "bytes");

    const missing = await tool("storage-status", "--namespace", "no-such-namespace");
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe(`error: namespace no-such-namespace does not exist on ${kube.server}; pass --namespace where MySQL runs`);
    const noConfig = await tool("storage-status", "--kubeconfig", join(dir, "absent"));
    expect(noConfig.code).toBe(2);
    expect(noConfig.stderr.trim()).toBe(`error: no kubeconfig at ${join(dir, "absent")}; pass --kubeconfig FILE or set KUBECONFIG`);
  });

  test("storage-monitor samples the claim and the pod, and MySQL's I/O rates from the second sample on", async ({ cluster, kube, manifests }) => {
    const { namespace, tool } = await commands({ kube, manifests, cluster });
    const monitor = await tool("storage-monitor", "--namespace", namespace, "--count", "2", "--interval", "1");
    expect(monitor.code, monitor.stdout + monitor.stderr).toBe(0);
    const sampleLines = monitor.stdout.split("\n").filter((l) => /^\d\d:\d\d:\d\d {2}claim/.test(l));
    expect(
      sampleLines.filter((l) => /^\d\d:\d\d:\d\d {2}claim Bound {2}pod Ready \(0 restarts\) {2}used [\d.]+ MiB \([\d.]+% of claim\)/.test(l)),
    ).toHaveLength(2);
    expect(monitor.stdout).toMatch(/2 samples, 0 with problems; growth -?[\d.]+ MiB\/min/);
    expect(sampleLines[0], "the first sample has no I/O rates").toContain("  io first sample (rates from the next one)");
    expect(sampleLines[1], "the second sample has MySQL's I/O rates, and latencies or the reason there are none").toMatch(
      / {2}io [\d.]+ r\/s [\d.]+ w\/s [\d.]+ fsync\/s, read [\d.]+ written [\d.]+ redo [\d.]+ MiB\/s, [\d.]+ commit\/s, (lat r [\d.-]+ w [\d.-]+ fsync [\d.-]+ ms|latency n\/a \(performance_schema off\))( {2}|$)/,
    );
  });

  test("backup-db writes a complete dump whose sha256 it prints, and never overwrites a file", async ({ cluster, kube, manifests, record }) => {
    const { namespace, tool } = await commands({ kube, manifests, cluster });
    const backupFile = join(dir, "backup.sql");
    const backup = await tool("backup-db", "--namespace", namespace, "--all-databases", "--output", backupFile, "--output-format", "json");
    expect(backup.code, backup.stdout + backup.stderr).toBe(0);
    const facts = JSON.parse(backup.stdout);
    const content = readFileSync(backupFile);
    expect(facts.sha256, "the sha256 backup-db printed is the file's").toBe(createHash("sha256").update(content).digest("hex"));
    expect(content.subarray(-200).toString()).toContain("-- Dump completed on");
    record("backup_db_bytes", facts.bytes, "bytes");
    const again = await tool("backup-db", "--namespace", namespace, "--output", backupFile);
    expect(again.code, "a second backup to the same file is refused").toBe(2);
    expect(again.stderr).toContain(`${backupFile} exists; a backup never overwrites one`);
  });

  test("restore-db restores a backup-db dump and verifies it against its record; it refuses to replace without --replace, and a truncated dump", async ({
    cluster,
    kube,
    manifests,
  }) => {
    const { setup, namespace, tool } = await commands({ kube, manifests, cluster });
    await probeDatabase(setup, "restore_probe", 500);
    const probeFile = join(dir, "restore-probe.sql");
    const probeBackup = await tool("backup-db", "--namespace", namespace, "--database", "restore_probe", "--output", probeFile);
    expect(probeBackup.code, probeBackup.stdout + probeBackup.stderr).toBe(0);
    const over = await tool("restore-db", "--namespace", namespace, "--input", probeFile);
    expect(over.code, "restoring over a database that has tables is refused without --replace").toBe(2);
    expect(over.stderr).toMatch(/database restore_probe .* on the server: pass --replace to drop and recreate it from the dump/);
    const truncated = join(dir, "truncated.sql");
    writeFileSync(truncated, readFileSync(probeFile).subarray(0, 2000));
    writeFileSync(`${truncated}.json`, readFileSync(`${probeFile}.json`));
    const cut = await tool("restore-db", "--namespace", namespace, "--input", truncated, "--replace");
    expect(cut.code, "a truncated dump is refused").toBe(2);
    expect(cut.stderr).toContain(`${truncated} is truncated: it does not end with mysqldump's "-- Dump completed on" line`);
    await query(setup, "DELETE FROM restore_probe.items WHERE id > 250");
    const restore = await tool("restore-db", "--namespace", namespace, "--input", probeFile, "--replace");
    expect(restore.code, restore.stdout + restore.stderr).toBe(0);
    expect(restore.stdout).toMatch(/restore_probe\.items\s+verified\s+500 rows/);
    expect(restore.stdout).toContain("verified: every table has the rows and checksum the record holds (1 tables)");
    const [{ rows }] = await query<[{ rows: number }]>(setup, "SELECT COUNT(*) AS `rows` FROM restore_probe.items");
    expect(Number(rows), "rows of restore_probe.items after restore-db --replace").toBe(500);
    await query(setup, "DROP DATABASE restore_probe");
  });

  test("backup-db --keep-daily rotates: --dry-run lists the older dump of the day, the next dump deletes it once it is verified", async ({
    cluster,
    kube,
    manifests,
  }) => {
    const { setup, namespace, tool } = await commands({ kube, manifests, cluster });
    await probeDatabase(setup, "rotation_probe", 100);
    const rotated = join(dir, "rotated");
    const dump = (...extra: string[]) =>
      tool("backup-db", "--namespace", namespace, "--database", "rotation_probe", "--dir", rotated, "--keep-daily", "1", "--output-format", "json", ...extra);
    const first = await dump();
    expect(first.code, first.stdout + first.stderr).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // dump names carry the second
    const dry = await dump("--dry-run");
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    const firstFile = JSON.parse(first.stdout).file as string;
    expect(JSON.parse(dry.stdout).expired, "--dry-run lists the older dump of the day as expiring").toEqual([firstFile.replace(/^.*\//, "")]);
    expect(
      readdirSync(rotated).filter((f) => f.endsWith(".sql")),
      "--dry-run deletes nothing",
    ).toHaveLength(1);
    const second = await dump();
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(
      readdirSync(rotated).filter((f) => f.endsWith(".sql")),
      "dumps left after rotation",
    ).toEqual([JSON.parse(second.stdout).file.replace(/^.*\//, "")]);
    await query(setup, "DROP DATABASE rotation_probe");
  });

  test("test-persistence --writes proves rows and every acknowledged write survive a pod deletion, then drops its databases", async ({
    cluster,
    kube,
    manifests,
    record,
  }) => {
    const { setup, namespace, tool } = await commands({ kube, manifests, cluster });
    const persistence = await tool("test-persistence", "--namespace", namespace, "--rows", "2000", "--writes");
    expect(persistence.code, persistence.stdout + persistence.stderr).toBe(0);
    expect(persistence.stdout).toMatch(
      new RegExp(
        `✅ SUCCESS: Data persistence verified!\\n {3}- 2000 test records survived the pod restart \\(same count and checksum\\), on \\S+\\n {3}- Recovery time: [\\d.]+ s \\(budget ${budgetS} s\\)`,
      ),
    );
    expect(persistence.stdout).toMatch(
      / {3}- Writes in flight: \d+ commits acknowledged, 0 lost, \d+ in doubt, 0 phantom, 0 duplicated; write gap [\d.]+ s \(no commit acknowledged\)/,
    );
    record("test_persistence_s", persistence.seconds, "s");
    const dbs = await query<unknown[]>(setup, "SHOW DATABASES WHERE `Database` IN ('storage_persistence_test', 'storage_conformance_ledger')");
    expect(dbs, "test-persistence drops its test database and the writer's").toEqual([]);
  });
});
