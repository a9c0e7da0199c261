import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { backupDatabase } from "../design/backup.ts";
import { openDatabase } from "../mysql/client.ts";
import { makeRecord, measureDatabases, userDatabases } from "../ops/backup-data.ts";
import { recordPath, writeRecord } from "../ops/backup-record.ts";
import { checkDump } from "../ops/restore.ts";
import { backupFileName, chooseRetention, datedDumpsIn, removeDump, type RetentionChoice } from "../ops/rotation.ts";
import { timeouts } from "../timeouts.ts";
import { commonUsage, connectTool, parseToolArgs, print, runTool, UsageError } from "./tool.ts";
import { nameOf } from "../kube/names.ts";

const usage = `usage: npm run backup-db -- [options]     (or: make backup-db)

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

${commonUsage}`;

const options = {
  database: { type: "string", multiple: true },
  "all-databases": { type: "boolean" },
  output: { type: "string" },
  dir: { type: "string" },
  "keep-daily": { type: "string" },
  "keep-weekly": { type: "string" },
  "dry-run": { type: "boolean" },
} as const;

/** A count of periods to keep: a whole number from 0. */
function parseKeep(raw: string | undefined, option: string): number {
  if (raw === undefined) return 0;
  if (!/^(?:0|[1-9]\d{0,4})$/.test(raw))
    throw new UsageError(`${option} ${JSON.stringify(raw)} is not a whole number of periods to keep (0 to 99999, in decimal)`);
  return Number(raw);
}

runTool(async (settings) => {
  const args = parseToolArgs(process.argv.slice(2), options, usage);
  if (args.help) {
    print(usage);
    return 0;
  }
  const dir = args.dir as string | undefined;
  const rotating = args["keep-daily"] !== undefined || args["keep-weekly"] !== undefined;
  if (dir !== undefined && args.output !== undefined) throw new UsageError("--dir and --output exclude each other: --dir names the dump by its time");
  if ((rotating || args["dry-run"]) && dir === undefined)
    throw new UsageError("--keep-daily, --keep-weekly and --dry-run rotate the dumps of a folder: pass --dir DIR");
  if (args["dry-run"] && !rotating) throw new UsageError("--dry-run lists what rotation would delete: pass --keep-daily N and/or --keep-weekly M");
  const policy = {
    keepDaily: parseKeep(args["keep-daily"] as string | undefined, "--keep-daily"),
    keepWeekly: parseKeep(args["keep-weekly"] as string | undefined, "--keep-weekly"),
  };
  if (dir !== undefined && existsSync(dir) && !statIsDirectory(dir)) throw new UsageError(`--dir ${dir} is not a directory`);

  const setup = await connectTool(args, settings);
  const { namespace } = setup;
  const startedAt = new Date();
  const file = resolve(
    dir !== undefined
      ? join(dir, backupFileName(namespace, startedAt))
      : ((args.output as string | undefined) ?? join("backups", backupFileName(namespace, startedAt))),
  );

  if (args["dry-run"]) {
    const existing = existsSync(dir!) ? datedDumpsIn(resolve(dir!), namespace) : [];
    const next = backupFileName(namespace, startedAt);
    const choice = chooseRetention([...existing, { name: next, at: startedAt }], policy);
    print(args.json ? JSON.stringify({ dryRun: true, dir: resolve(dir!), next, ...rotationFacts(choice) }, null, 2) : formatRotation(choice, next));
    return 0;
  }

  const named = (args.database as unknown as string[] | undefined) ?? [];
  const fromEnv = setup.workload.container.env?.find((e) => e.name === "MYSQL_DATABASE")?.value;
  const databases = args["all-databases"] ? "all" : named.length ? named : fromEnv ? [fromEnv] : "all";
  for (const path of [file, recordPath(file)]) {
    if (existsSync(path)) throw new UsageError(`${path} exists; a backup never overwrites one (pass another --output)`);
  }
  mkdirSync(resolve(file, ".."), { recursive: true });
  const pod = await setup.waitForReadyPod({ timeoutMs: Math.min(timeouts.podReadyMs, timeouts.toolPodReadyMs) });
  const backup = await backupDatabase(setup, pod, file, databases);

  // The record: without it restore-db can neither check nor verify the dump, so a dump whose record fails is removed.
  let recordFile: string;
  try {
    const db = await openDatabase(setup.kube, namespace, nameOf(pod), await setup.rootCredentials(), timeouts.mysqlReadyMs);
    try {
      const measuredDatabases = databases === "all" ? await userDatabases(db.connection) : databases;
      const tables = await measureDatabases(db.connection, measuredDatabases);
      const record = makeRecord({
        ...backup,
        allDatabases: databases === "all",
        tables,
        serverVersion: db.serverVersion,
        madeAt: startedAt,
        namespace,
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
  let choice: RetentionChoice | undefined;
  const deleted: string[] = [];
  if (dir !== undefined && rotating) {
    choice = chooseRetention(datedDumpsIn(resolve(dir), namespace), { ...policy, justMade: basename(file) });
    for (const expired of choice.expire) deleted.push(...removeDump(resolve(dir), expired.name));
  }

  const tableCount = Object.values(verified.record.tables).reduce((n, t) => n + Object.keys(t).length, 0);
  const facts = {
    ...backup,
    record: recordFile,
    pod: pod.metadata!.name,
    databases,
    server_version: verified.record.server.version,
    engine: verified.record.server.engine,
    tables: verified.record.tables,
    mb_per_s: +(backup.bytes / 1e6 / backup.duration_s).toFixed(2),
    ...(choice ? { rotation: { ...rotationFacts(choice), deletedFiles: deleted } } : {}),
  };
  print(
    args.json
      ? JSON.stringify(facts, null, 2)
      : [
          `backup of ${databases === "all" ? "every database" : databases.join(", ")} from pod ${facts.pod} (${facts.server_version})`,
          `  file     ${file}`,
          `  record   ${recordFile} (${tableCount} tables: rows and checksums)`,
          `  size     ${backup.bytes} bytes`,
          `  sha256   ${backup.sha256}`,
          `  took     ${backup.duration_s.toFixed(2)} s (${facts.mb_per_s} MB/s)`,
          "  complete yes (mysqldump's end marker present; the file on disk hashes to the recorded sha256)",
          ...(choice ? [formatRotation(choice)] : []),
        ].join("\n"),
  );
  return 0;
});

function statIsDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function rotationFacts(choice: RetentionChoice) {
  return { kept: choice.keep.map((k) => ({ name: k.name, reasons: k.reasons })), expired: choice.expire.map((e) => e.name) };
}

/** The rotation's outcome; with `dryRunNext` (the dump a backup now would make), what it would do. */
function formatRotation(choice: RetentionChoice, dryRunNext?: string): string {
  const dryRun = dryRunNext !== undefined;
  const lines = [dryRun ? "rotation (dry run: no dump made, nothing deleted; counting a dump made now)" : "rotation"];
  for (const kept of choice.keep)
    lines.push(`  keep     ${kept.name} (${kept.reasons.join(", ")})${kept.name === dryRunNext ? " [the dump a backup now would make]" : ""}`);
  for (const expired of choice.expire) lines.push(`  ${dryRun ? "would delete" : "deleted "} ${expired.name} (and its record)`);
  if (choice.expire.length === 0) lines.push("  nothing expires");
  return lines.join("\n");
}
