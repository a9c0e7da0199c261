import { existsSync, mkdirSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { backupDatabase, type BackupFacts } from "../design/backup.ts";
import type { DeployedSetup } from "../design/deployment.ts";
import { nameOf } from "../kube/names.ts";
import { openDatabase } from "../mysql/client.ts";
import type { TableChecksums } from "../mysql/dataset.ts";
import { timeouts } from "../timeouts.ts";
import { makeRecord, measureDatabases, userDatabases } from "./backup-data.ts";
import { recordPath, writeRecord } from "./backup-record.ts";
import { checkDump } from "./restore.ts";
import { backupFileName, chooseRetention, datedDumpsIn, removeDump, type RetentionChoice, type RetentionPolicy } from "./rotation.ts";

/**
 * The design's logical backup, as backup-db runs it: the dump streamed out
 * of the pod, its record (rows and checksums measured right after it), the
 * file on disk verified as restore-db will check it, and, when rotating, the
 * expired dumps deleted only after that.
 */

/** What to dump and where. */
export interface BackupPlan {
  /** The dump's path; its record goes beside it. */
  file: string;
  databases: string[] | "all";
  /** With --dir and a policy: the folder whose dumps rotate. */
  rotation?: { dir: string; policy: RetentionPolicy };
}

export interface BackupOutcome extends BackupFacts {
  record: string;
  pod: string;
  databases: string[] | "all";
  serverVersion: string;
  engine: string;
  tables: Record<string, TableChecksums>;
  mbPerS: number;
  rotation?: { choice: RetentionChoice; deletedFiles: string[] };
}

/** Refused before any dump: where the dump would overwrite a file. */
export class BackupRefused extends Error {}

/** The dump's path: under `dir` by its time (rotation), `output` as given, or backups/<namespace>-<time>.sql. */
export function backupTarget(namespace: string, startedAt: Date, where: { dir?: string; output?: string }): string {
  if (where.dir !== undefined) return resolve(where.dir, backupFileName(namespace, startedAt));
  return resolve(where.output ?? join("backups", backupFileName(namespace, startedAt)));
}

/** The databases a backup dumps: those named, else the workload's MYSQL_DATABASE, else every one. */
export function databasesToDump(setup: DeployedSetup, named: string[], allDatabases: boolean): string[] | "all" {
  if (allDatabases) return "all";
  if (named.length) return named;
  const fromEnv = setup.workload.container.env?.find((e) => e.name === "MYSQL_DATABASE")?.value;
  return fromEnv ? [fromEnv] : "all";
}

/** What rotating `dir` would keep and delete if a dump were made now (--dry-run): nothing is made or deleted. */
export function rotationDryRun(dir: string, namespace: string, startedAt: Date, policy: RetentionPolicy): { next: string; choice: RetentionChoice } {
  const existing = existsSync(dir) ? datedDumpsIn(dir, namespace) : [];
  const next = backupFileName(namespace, startedAt);
  return { next, choice: chooseRetention([...existing, { name: next, at: startedAt }], policy) };
}

export async function makeBackup(setup: DeployedSetup, plan: BackupPlan, startedAt: Date): Promise<BackupOutcome> {
  const { file, databases } = plan;
  for (const path of [file, recordPath(file)]) {
    if (existsSync(path)) throw new BackupRefused(`${path} exists; a backup never overwrites one (pass another --output)`);
  }
  mkdirSync(dirname(file), { recursive: true });
  const pod = await setup.waitForReadyPod({ timeoutMs: Math.min(timeouts.podReadyMs, timeouts.toolPodReadyMs) });
  const backup = await backupDatabase(setup, pod, file, databases);

  // The record: without it restore-db can neither check nor verify the dump, so a dump whose record fails is removed.
  let recordFile: string;
  try {
    const db = await openDatabase(setup.kube, setup.namespace, nameOf(pod), await setup.rootCredentials(), timeouts.mysqlReadyMs);
    try {
      const measuredDatabases = databases === "all" ? await userDatabases(db.connection) : databases;
      const tables = await measureDatabases(db.connection, measuredDatabases);
      const record = makeRecord({
        ...backup,
        allDatabases: databases === "all",
        tables,
        serverVersion: db.serverVersion,
        madeAt: startedAt,
        namespace: setup.namespace,
        pod: nameOf(pod),
      });
      recordFile = writeRecord(file, record);
    } finally {
      await db.close();
    }
  } catch (error) {
    rmSync(file, { force: true });
    throw new Error(
      `the dump was made but its record could not be (${(error as Error).message.split("\n")[0]}); the dump was removed, as restore-db could not check it`,
    );
  }

  // Verified as restore-db will check it: end marker, and the file on disk hashes to what was streamed.
  const verified = await checkDump(file).catch((error: Error) => {
    throw new Error(`the new dump failed its verification, so no dump was deleted: ${error.message}`);
  });
  let rotation: BackupOutcome["rotation"];
  if (plan.rotation) {
    const { dir, policy } = plan.rotation;
    const choice = chooseRetention(datedDumpsIn(dir, setup.namespace), { ...policy, justMade: basename(file) });
    const deletedFiles = choice.expire.flatMap((expired) => removeDump(dir, expired.name));
    rotation = { choice, deletedFiles };
  }
  return {
    ...backup,
    record: recordFile,
    pod: nameOf(pod),
    databases,
    serverVersion: verified.record.server.version,
    engine: verified.record.server.engine,
    tables: verified.record.tables,
    mbPerS: +(backup.bytes / 1e6 / backup.duration_s).toFixed(2),
    ...(rotation ? { rotation } : {}),
  };
}

/** The rotation as JSON: what stays (with why) and what went. */
export function rotationFacts(choice: RetentionChoice) {
  return { kept: choice.keep.map((k) => ({ name: k.name, reasons: k.reasons })), expired: choice.expire.map((e) => e.name) };
}

/** The rotation's outcome; with `dryRunNext` (the dump a backup now would make), what it would do. */
export function formatRotation(choice: RetentionChoice, dryRunNext?: string): string {
  const dryRun = dryRunNext !== undefined;
  const lines = [dryRun ? "rotation (dry run: no dump made, nothing deleted; counting a dump made now)" : "rotation"];
  for (const kept of choice.keep)
    lines.push(`  keep     ${kept.name} (${kept.reasons.join(", ")})${kept.name === dryRunNext ? " [the dump a backup now would make]" : ""}`);
  for (const expired of choice.expire) lines.push(`  ${dryRun ? "would delete" : "deleted "} ${expired.name} (and its record)`);
  if (choice.expire.length === 0) lines.push("  nothing expires");
  return lines.join("\n");
}
