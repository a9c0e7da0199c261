import { existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { writableFolderProblem } from "../../files.ts";
import { BackupRefused, backupTarget, databasesToDump, formatRotation, makeBackup, rotationDryRun, rotationFacts } from "../../ops/backup.ts";
import type { RetentionPolicy } from "../../ops/rotation.ts";
import { parseOptions } from "../args.ts";
import { UsageError, type Command } from "../command.ts";
import { clusterOptions, clusterOptionsOf, clusterUsage, connectTool, toolSettings, type ClusterOptions } from "../tool.ts";

const usage = `usage: storage-conformance backup-db [options]
       (npm run backup-db -- [options], make backup-db ARGS="...")

A logical backup as the design describes it: mysqldump in the MySQL pod
(--single-transaction, routines, triggers), streamed to a local file, checked
for mysqldump's end marker and hashed (sha256). The password never leaves the
pod. A failed or truncated dump leaves no file behind.

Beside each dump FILE goes its record FILE.json: the databases, each table's
rows and checksum (measured right after the dump, in one consistent snapshot
of their own), the server's version and engine, the dump's sha256 and size,
the time, namespace and pod. restore-db checks and verifies against it.

  --database NAME    database to dump (repeatable; default: the workload's
                     MYSQL_DATABASE, else every database)
  --all-databases    every database (the mysql system schema included, so
                     restore-db does not restore such a dump)
  --output FILE      where to write (default: backups/<namespace>-<time>.sql);
                     an existing file is never overwritten

Rotation (the design's "Automated Backup Rotation"):
  --dir DIR          write DIR/<namespace>-<YYYYMMDDTHHMMSSZ>.sql (UTC)
  --keep-daily N     keep the newest dump of each of the last N days that have one
  --keep-weekly M    keep the newest dump of each of the last M ISO weeks that have one
  --dry-run          make no dump and delete nothing: list what a backup now would delete
  Expired dumps (and their records) are deleted only after the new dump is
  verified (end marker, sha256 of the file on disk). The newest dump is never
  deleted; files in DIR not named <namespace>-<time>.sql are never touched.
  The folder (DIR, or FILE's) is checked before the cluster is contacted: one
  that cannot be written is bad input.

${clusterUsage}`;

const options = {
  ...clusterOptions,
  database: { type: "string", multiple: true },
  "all-databases": { type: "boolean" },
  output: { type: "string" },
  dir: { type: "string" },
  "keep-daily": { type: "string" },
  "keep-weekly": { type: "string" },
  "dry-run": { type: "boolean" },
} as const;

/** backup-db's options, parsed and checked before the cluster is contacted. */
export interface BackupOptions {
  cluster: ClusterOptions;
  databases: string[];
  allDatabases: boolean;
  output?: string;
  /** --dir, absolute. */
  dir?: string;
  /** Set when --keep-daily or --keep-weekly is given. */
  policy?: RetentionPolicy;
  dryRun: boolean;
}

/** A count of periods to keep: a whole number from 0. */
function parseKeep(raw: string | undefined, option: string): number {
  if (raw === undefined) return 0;
  if (!/^(?:0|[1-9]\d{0,4})$/.test(raw))
    throw new UsageError(`${option} ${JSON.stringify(raw)} is not a whole number of periods to keep (0 to 99999, in decimal)`);
  return Number(raw);
}

export function backupOptions(argv: string[]): BackupOptions | "help" {
  const values = parseOptions(argv, options, "backup-db");
  if (values.help) return "help";
  const cluster = clusterOptionsOf(values);
  const rotating = values["keep-daily"] !== undefined || values["keep-weekly"] !== undefined;
  const dir = values.dir === undefined ? undefined : resolve(values.dir);
  if (dir !== undefined && values.output !== undefined) throw new UsageError("--dir and --output exclude each other: --dir names the dump by its time");
  if ((rotating || values["dry-run"]) && dir === undefined)
    throw new UsageError("--keep-daily, --keep-weekly and --dry-run rotate the dumps of a folder", "pass --dir DIR");
  if (values["dry-run"] && !rotating) throw new UsageError("--dry-run lists what rotation would delete", "pass --keep-daily N and/or --keep-weekly M");
  const policy = rotating
    ? { keepDaily: parseKeep(values["keep-daily"], "--keep-daily"), keepWeekly: parseKeep(values["keep-weekly"], "--keep-weekly") }
    : undefined;
  // Where the dump goes must take files: said now, not after a dump streamed for minutes.
  if (!values["dry-run"]) {
    const folder = dir ?? dirname(resolve(values.output ?? "backups/x"));
    const problem = writableFolderProblem(folder);
    if (problem)
      throw new UsageError(
        `${dir !== undefined ? "--dir" : values.output !== undefined ? "--output's folder" : "backups/"} ${problem}`,
        "name a folder you can write",
      );
  } else if (existsSync(dir!) && !statSync(dir!).isDirectory()) throw new UsageError(`--dir ${dir} is not a directory`);
  return {
    cluster,
    databases: values.database ?? [],
    allDatabases: Boolean(values["all-databases"]),
    ...(values.output !== undefined ? { output: values.output } : {}),
    ...(dir !== undefined ? { dir } : {}),
    ...(policy ? { policy } : {}),
    dryRun: Boolean(values["dry-run"]),
  };
}

export const backupDb: Command = {
  name: "backup-db",
  summary: "mysqldump streamed out of the pod, verified, with its record; rotation",
  usage,
  async run(argv, io) {
    const parsed = backupOptions(argv);
    if (parsed === "help") {
      io.out(usage);
      return 0;
    }
    const { cluster, dir, policy } = parsed;
    io.format = cluster.format;
    const json = cluster.format === "json";
    const setup = await connectTool(cluster, toolSettings());
    const startedAt = new Date();

    if (parsed.dryRun) {
      const { next, choice } = rotationDryRun(dir!, setup.namespace, startedAt, policy!);
      io.out(json ? JSON.stringify({ dryRun: true, dir, next, ...rotationFacts(choice) }, null, 2) : formatRotation(choice, next));
      return 0;
    }
    const file = backupTarget(setup.namespace, startedAt, {
      ...(dir !== undefined ? { dir } : {}),
      ...(parsed.output !== undefined ? { output: parsed.output } : {}),
    });
    const databases = databasesToDump(setup, parsed.databases, parsed.allDatabases);
    let backup;
    try {
      backup = await makeBackup(setup, { file, databases, ...(dir !== undefined && policy ? { rotation: { dir, policy } } : {}) }, startedAt);
    } catch (error) {
      if (error instanceof BackupRefused) throw new UsageError(error.message);
      throw error;
    }
    const tableCount = Object.values(backup.tables).reduce((n, t) => n + Object.keys(t).length, 0);
    io.out(
      json
        ? JSON.stringify(
            {
              file: backup.file,
              bytes: backup.bytes,
              sha256: backup.sha256,
              duration_s: backup.duration_s,
              complete: backup.complete,
              record: backup.record,
              pod: backup.pod,
              databases,
              server_version: backup.serverVersion,
              engine: backup.engine,
              tables: backup.tables,
              mb_per_s: backup.mbPerS,
              ...(backup.rotation ? { rotation: { ...rotationFacts(backup.rotation.choice), deletedFiles: backup.rotation.deletedFiles } } : {}),
            },
            null,
            2,
          )
        : [
            `backup of ${databases === "all" ? "every database" : databases.join(", ")} from pod ${backup.pod} (${backup.serverVersion})`,
            `  file     ${file}`,
            `  record   ${backup.record} (${tableCount} tables: rows and checksums)`,
            `  size     ${backup.bytes} bytes`,
            `  sha256   ${backup.sha256}`,
            `  took     ${backup.duration_s.toFixed(2)} s (${backup.mbPerS} MB/s)`,
            "  complete yes (mysqldump's end marker present; the file on disk hashes to the recorded sha256)",
            ...(backup.rotation ? [formatRotation(backup.rotation.choice)] : []),
          ].join("\n"),
    );
    return 0;
  },
};
