import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { DeployedSetup } from "../../src/conformance/deployment.ts";
import { secretValues } from "../../src/manifests/secrets.ts";
import { projectRoot } from "../../src/paths.ts";
import { secondsSince } from "../../src/conformance/phases.ts";
import { describe, expect, test } from "../support/test.ts";

// The design's operator commands, run as a user runs them (a process, a
// kubeconfig file, a namespace) against the design's setup on the cluster.
describe("the operator commands", () => {
  test("storage-status, storage-monitor, backup-db (with rotation), restore-db and test-persistence work on a running setup, and refuse bad input", async ({
    cluster,
    kube,
    namespace,
    manifests,
    record,
  }) => {
    const dir = mkdtempSync(join(tmpdir(), "sc-tools-"));
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, cluster.kubeconfig, { mode: 0o600 });
    const secrets = secretValues(manifests);
    const tool = async (name: string, ...args: string[]) => {
      const started = performance.now();
      const result = await execa(process.execPath, [`${projectRoot}/src/cli/${name}.ts`, "--kubeconfig", kubeconfig, ...args], {
        reject: false,
        cwd: dir,
        timeout: 300_000,
      });
      const output = `${result.stdout}\n${result.stderr}`;
      for (const secret of secrets) expect(output.includes(secret), `${name} printed a secret value`).toBe(false);
      return { code: result.exitCode, stdout: result.stdout, stderr: result.stderr, seconds: secondsSince(started) };
    };
    try {
      const setup = await DeployedSetup.deploy(kube, namespace, manifests);
      await setup.waitForReadyPod();

      const status = await tool("storage-status", "--namespace", namespace);
      expect(status.code, `storage-status exited ${status.code}:\n${status.stdout}\n${status.stderr}`).toBe(0);
      expect(status.stdout).toMatch(/claim\s+mysql-pvc: Bound, 1Gi \(requested 1Gi\), ReadWriteOnce, class standard/);
      expect(status.stdout).toMatch(/pod\s+mysql-\S+: Running, Ready/);
      expect(status.stdout).toMatch(/mount\s+\/var\/lib\/mysql\n/);
      record("storage_status_s", status.seconds, "s");
      const json = JSON.parse((await tool("storage-status", "--namespace", namespace, "--json")).stdout);
      expect(json.claim.phase).toBe("Bound");
      expect(json.usage.usedBytes, "MySQL's files on the claim, from du").toBeGreaterThan(1_000_000);
      record("mysql_files_bytes", json.usage.usedBytes, "bytes");

      const monitor = await tool("storage-monitor", "--namespace", namespace, "--count", "2", "--interval", "1");
      expect(monitor.code, monitor.stdout + monitor.stderr).toBe(0);
      expect(
        monitor.stdout.split("\n").filter((l) => /^\d\d:\d\d:\d\d {2}claim Bound {2}pod Ready \(0 restarts\) {2}used [\d.]+ MiB \([\d.]+% of claim\)/.test(l)),
      ).toHaveLength(2);
      expect(monitor.stdout).toMatch(/2 samples, 0 with problems; growth -?[\d.]+ MiB\/min/);
      const sampleLines = monitor.stdout.split("\n").filter((l) => /^\d\d:\d\d:\d\d {2}claim/.test(l));
      expect(sampleLines[0], "the first sample has no I/O rates").toContain("  io first sample (rates from the next one)");
      expect(sampleLines[1], "the second sample has MySQL's I/O rates, and latencies or the reason there are none").toMatch(
        / {2}io [\d.]+ r\/s [\d.]+ w\/s [\d.]+ fsync\/s, read [\d.]+ written [\d.]+ redo [\d.]+ MiB\/s, [\d.]+ commit\/s, (lat r [\d.-]+ w [\d.-]+ fsync [\d.-]+ ms|latency n\/a \(performance_schema off\))( {2}|$)/,
      );

      const backupFile = join(dir, "backup.sql");
      const backup = await tool("backup-db", "--namespace", namespace, "--all-databases", "--output", backupFile, "--json");
      expect(backup.code, backup.stdout + backup.stderr).toBe(0);
      const facts = JSON.parse(backup.stdout);
      const content = readFileSync(backupFile);
      expect(facts.sha256, "the sha256 backup-db printed is the file's").toBe(createHash("sha256").update(content).digest("hex"));
      expect(content.subarray(-200).toString()).toContain("-- Dump completed on");
      record("backup_db_bytes", facts.bytes, "bytes");
      const again = await tool("backup-db", "--namespace", namespace, "--output", backupFile);
      expect(again.code, "a second backup to the same file is refused").toBe(2);
      expect(again.stderr).toContain(`${backupFile} exists; a backup never overwrites one`);

      // restore-db on a dump of one database, made by backup-db with its record.
      const probe = await setup.open();
      await probe.connection.query("CREATE DATABASE restore_probe");
      await probe.connection.query("CREATE TABLE restore_probe.items (id INT PRIMARY KEY, label VARCHAR(32))");
      await probe.connection.query(
        "INSERT INTO restore_probe.items SELECT seq, CONCAT('item-', seq) FROM (WITH RECURSIVE s(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM s WHERE seq < 500) SELECT seq FROM s) AS numbers",
      );
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
      await probe.connection.query("DELETE FROM restore_probe.items WHERE id > 250");
      const restore = await tool("restore-db", "--namespace", namespace, "--input", probeFile, "--replace");
      expect(restore.code, restore.stdout + restore.stderr).toBe(0);
      expect(restore.stdout).toMatch(/restore_probe\.items\s+verified\s+500 rows/);
      expect(restore.stdout).toContain("verified: every table has the rows and checksum the record holds (1 tables)");
      const [[{ rows }]] = (await probe.connection.query("SELECT COUNT(*) AS `rows` FROM restore_probe.items")) as unknown as [[{ rows: number }]];
      expect(Number(rows), "rows of restore_probe.items after restore-db --replace").toBe(500);

      // Rotation: two dumps today with --keep-daily 1: the first is listed by --dry-run, then deleted.
      const rotated = join(dir, "rotated");
      const first = await tool("backup-db", "--namespace", namespace, "--database", "restore_probe", "--dir", rotated, "--keep-daily", "1", "--json");
      expect(first.code, first.stdout + first.stderr).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 1100)); // dump names carry the second
      const dry = await tool(
        "backup-db",
        "--namespace",
        namespace,
        "--database",
        "restore_probe",
        "--dir",
        rotated,
        "--keep-daily",
        "1",
        "--dry-run",
        "--json",
      );
      expect(dry.code, dry.stdout + dry.stderr).toBe(0);
      const firstFile = JSON.parse(first.stdout).file as string;
      expect(JSON.parse(dry.stdout).expired, "--dry-run lists the older dump of the day as expiring").toEqual([firstFile.replace(/^.*\//, "")]);
      expect(
        readdirSync(rotated).filter((f) => f.endsWith(".sql")),
        "--dry-run deletes nothing",
      ).toHaveLength(1);
      const second = await tool("backup-db", "--namespace", namespace, "--database", "restore_probe", "--dir", rotated, "--keep-daily", "1", "--json");
      expect(second.code, second.stdout + second.stderr).toBe(0);
      expect(
        readdirSync(rotated).filter((f) => f.endsWith(".sql")),
        "dumps left after rotation",
      ).toEqual([JSON.parse(second.stdout).file.replace(/^.*\//, "")]);
      await probe.connection.query("DROP DATABASE restore_probe");
      await probe.close();

      const persistence = await tool("test-persistence", "--namespace", namespace, "--rows", "2000", "--writes");
      expect(persistence.code, persistence.stdout + persistence.stderr).toBe(0);
      expect(persistence.stdout).toMatch(
        /✅ SUCCESS: Data persistence verified!\n {3}- 2000 test records survived the pod restart \(same count and checksum\), on \S+\n {3}- Recovery time: [\d.]+ s \(budget 30 s\)/,
      );
      expect(persistence.stdout).toMatch(
        / {3}- Writes in flight: \d+ commits acknowledged, 0 lost, \d+ in doubt, 0 phantom, 0 duplicated; write gap [\d.]+ s \(no commit acknowledged\)/,
      );
      record("test_persistence_s", persistence.seconds, "s");
      const db = await setup.open();
      const [dbs] = await db.connection.query("SHOW DATABASES WHERE `Database` IN ('storage_persistence_test', 'storage_conformance_ledger')");
      await db.close();
      expect(dbs, "test-persistence drops its test database and the writer's").toEqual([]);

      const missing = await tool("storage-status", "--namespace", "no-such-namespace");
      expect(missing.code).toBe(2);
      expect(missing.stderr.trim()).toBe(`error: namespace no-such-namespace does not exist on ${kube.server}: pass --namespace where MySQL runs`);
      const noConfig = await tool("storage-status", "--kubeconfig", join(dir, "absent"));
      expect(noConfig.code).toBe(2);
      expect(noConfig.stderr.trim()).toBe(`error: no kubeconfig at ${join(dir, "absent")}: pass --kubeconfig FILE or set KUBECONFIG`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
