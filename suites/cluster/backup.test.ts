import { join } from "node:path";
import { backupDatabase, restoreDatabase } from "../../src/design/backup.ts";
import { DeployedSetup } from "../../src/design/deployment.ts";
import { engineOfVersion } from "../../src/mysql/engines.ts";
import { cloneToFile, mariabackupToFile, restorePhysicalInto } from "../../src/conformance/physical-backup.ts";
import {
  chooseSnapshotClass,
  dataClaimDriver,
  listSnapshotClasses,
  type SnapshotClass,
  snapshotAndRestore,
  snapshotUnavailable,
} from "../../src/conformance/volume-snapshot.ts";
import { backupClaimOf, copyDumpFromClaim, cronJobsIn, reportedDump, runScheduledBackupNow } from "../../src/conformance/scheduled-backup.ts";
import { checksumTables, compareChecksums, datasetDatabase, loadDataset } from "../../src/mysql/dataset.ts";
import { snapshotFallbackClass } from "../../src/conformance/storage-classes.ts";
import { withStorageClass } from "../../src/manifests/storage-class.ts";
import { describe, expect, test } from "../support/test.ts";

describe("a mysqldump backup of ecomdb", () => {
  test("is complete, and restores the same rows into the same server and into a fresh Deployment on a fresh claim", async ({
    deployFresh,
    namespace,
    freshNamespace,
    workDir,
    record,
  }) => {
    const file = join(workDir, "ecomdb.sql");
    const setup = await deployFresh(namespace);
    let db = await setup.open();
    await loadDataset(db.connection);
    const before = await checksumTables(db.connection);
    const pod = await setup.waitForReadyPod();

    const backup = await backupDatabase(setup, pod, file);
    record("backup_bytes", backup.bytes, "bytes");
    record("backup_s", +backup.duration_s.toFixed(2), "s");
    record("backup_mb_per_s", +(backup.bytes / 1e6 / backup.duration_s).toFixed(2), "MB/s");
    record("backup_sha256", backup.sha256, "");

    // (a) The same server, after the database is dropped.
    await db.connection.query(`DROP DATABASE ${datasetDatabase}`);
    const sameServer = await restoreDatabase(setup, pod, file);
    record("restore_same_server_s", +sameServer.duration_s.toFixed(2), "s");
    record("restore_mb_per_s", +(backup.bytes / 1e6 / sameServer.duration_s).toFixed(2), "MB/s");
    expect(compareChecksums(before, await checksumTables(db.connection)), "rows after restoring into the same server").toEqual([]);
    await db.close();

    // (b) A fresh Deployment with a fresh claim, in a namespace of its own.
    const fresh = await deployFresh(freshNamespace);
    db = await fresh.open();
    const freshPod = await fresh.waitForReadyPod();
    const freshRestore = await restoreDatabase(fresh, freshPod, file);
    record("restore_fresh_deployment_s", +freshRestore.duration_s.toFixed(2), "s");
    expect(compareChecksums(before, await checksumTables(db.connection)), "rows after restoring into a fresh Deployment").toEqual([]);
    await db.close();
  });
});

describe("the design's daily backups (a CronJob in the manifests)", () => {
  test("run in the cluster: one run of the CronJob, triggered now, writes a dump that restores the same rows into a fresh Deployment on a fresh claim", async ({
    deployFresh,
    kube,
    namespace,
    freshNamespace,
    workDir,
    manifests,
    record,
    note,
    skip,
  }) => {
    const cronJobs = cronJobsIn(manifests);
    record("scheduled_backup_cronjobs", cronJobs.length, "CronJobs");
    if (cronJobs.length === 0) {
      // A finding about the design, and nothing run: the check is skipped, never passed.
      note(
        'the design\'s automated daily backups are not in the manifests: it lists "daily mysqldump exports" and "automated backup rotation", but no CronJob runs them (fixtures/scheduled-backup/ has one)',
      );
      return skip("the manifests hold no backup CronJob to run (the finding above says so; fixtures/scheduled-backup/ has one)");
    }
    const setup = await deployFresh(namespace);
    const { checksums: before } = await setup.loadDataset();

    const run = await runScheduledBackupNow(kube, namespace, manifests);
    record("scheduled_backup_cronjob", run.cronJob, "");
    record("scheduled_backup_job_s", +run.duration_s.toFixed(2), "s");
    const dump = reportedDump(run.log);
    expect(dump, `the backup Job's log names no dump ("backup /PATH.sql: N bytes, sha256 H"); its log:\n${run.log}`).toBeDefined();
    record("scheduled_backup_bytes", dump!.bytes, "bytes");
    const claim = backupClaimOf(cronJobs.find((c) => c.object.metadata.name === run.cronJob)!, dump!.file);
    expect(claim, `no claim of CronJob ${run.cronJob} is mounted where ${dump!.file} is`).toBeDefined();

    const file = join(workDir, "scheduled.sql");
    const sha256 = await copyDumpFromClaim(kube, namespace, claim!, dump!.file, setup.workload.container.image!, file);
    expect(sha256, `the dump read back from claim ${claim!.claim} differs from what the backup Job reported`).toBe(dump!.sha256);
    const fresh = await deployFresh(
      freshNamespace,
      manifests.filter((o) => o.object.kind !== "CronJob"),
    );
    const freshPod = await fresh.waitForReadyPod();
    const restored = await restoreDatabase(fresh, freshPod, file);
    record("scheduled_backup_restore_s", +restored.duration_s.toFixed(2), "s");
    expect(compareChecksums(before, await fresh.readChecksums()), `rows after restoring ${dump!.file} (from Job ${run.job}) into a fresh Deployment`).toEqual(
      [],
    );
  });
});

describe("a physical backup of the whole server (CLONE on MySQL, mariadb-backup on MariaDB)", () => {
  test("copies the running server, and a server started on a fresh claim holding the copy serves the same rows", async ({
    deployFresh,
    kube,
    namespace,
    freshNamespace,
    workDir,
    manifests,
    record,
  }) => {
    const setup = await deployFresh(namespace);
    const db = await setup.open();
    const method = engineOfVersion(db.serverVersion) === "mariadb" ? "mariabackup" : "clone";
    await loadDataset(db.connection);
    const before = await checksumTables(db.connection);
    await db.close();
    const pod = await setup.waitForReadyPod();

    const file = join(workDir, "physical.tar");
    if (method === "mariabackup") {
      // MariaDB has no CLONE plugin: its physical backup is mariadb-backup.
      const copy = await mariabackupToFile(setup, pod, file);
      record("mariabackup_s", +copy.backup_s.toFixed(2), "s");
      record("mariabackup_prepare_s", +copy.prepare_s.toFixed(2), "s");
      record("mariabackup_bytes", copy.bytes, "bytes");
      record("mariabackup_transfer_s", +copy.transfer_s.toFixed(2), "s");
    } else {
      const clone = await cloneToFile(setup, pod, file);
      record("clone_s", +clone.clone_s.toFixed(2), "s");
      record("clone_bytes", clone.bytes, "bytes");
      record("clone_transfer_s", +clone.transfer_s.toFixed(2), "s");
    }
    const restored = await restorePhysicalInto(kube, freshNamespace, manifests, file);
    record(`${method}_restore_unpack_s`, +restored.unpack_s.toFixed(2), "s");
    record(`${method}_restore_ready_s`, +restored.ready_s.toFixed(2), "s");
    expect(
      compareChecksums(before, await restored.setup.readChecksums()),
      `rows served by a server started on the ${method === "clone" ? "clone" : "prepared mariadb-backup copy"}`,
    ).toEqual([]);
  });
});

describe("a volume snapshot of the data claim (the design's weekly filesystem-level backups)", () => {
  test("is cut under FLUSH TABLES WITH READ LOCK, and the claim made again from it through dataSource serves the same rows", async ({
    kube,
    namespace,
    manifests,
    record,
    note,
    skip,
  }) => {
    const claimDriver = await dataClaimDriver(kube, manifests);
    const classes = await listSnapshotClasses(kube);
    let { className, driver } = claimDriver;
    let objects = manifests;
    const unavailable = driver ? snapshotUnavailable(classes, driver) : claimDriver.missing!;
    if (unavailable) {
      // The run's class cannot snapshot; the project's CSI class can, where the cluster has it (the offline node).
      const fallback = await snapshotFallbackClass(kube, classes);
      if (!fallback) return skip(unavailable);
      note(
        `the run's class cannot take the snapshot (${unavailable}); the round trip ran on StorageClass "${fallback.className}" (the project's CSI driver) instead`,
      );
      ({ className, driver } = fallback);
      objects = withStorageClass(manifests, fallback.className);
    }
    const snapshotClass = chooseSnapshotClass(classes as SnapshotClass[], driver!)!;
    record("snapshot_class", snapshotClass.name, "");
    record("snapshot_driver", `${driver} (StorageClass ${className})`, "");
    if (snapshotClass.deletionPolicy === "Retain")
      note(
        `VolumeSnapshotClass ${snapshotClass.name} retains its snapshots: the one this check took stays on the storage backend after its namespace is deleted`,
      );

    const setup = await DeployedSetup.deploy(kube, namespace, objects);
    const { checksums: before } = await setup.loadDataset();
    const { facts, restored } = await snapshotAndRestore(setup, snapshotClass.name);
    record("snapshot_cut_s", +facts.cut_s.toFixed(2), "s");
    record("snapshot_ready_s", +facts.ready_s.toFixed(2), "s");
    if (facts.restoreSize) record("snapshot_restore_size", facts.restoreSize, "");
    record("snapshot_restore_s", +facts.restore_s.toFixed(2), "s");
    expect(compareChecksums(before, await restored.readChecksums()), "rows served from the claim made again from the snapshot").toEqual([]);
  });
});
