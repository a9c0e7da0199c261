import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { backupDatabase } from "../conformance/backup.ts";
import { timeouts } from "../timeouts.ts";
import { commonUsage, connectTool, parseToolArgs, print, runTool, UsageError } from "./tool.ts";

const usage = `usage: npm run backup-db -- [options]     (or: make backup-db)

A logical backup as the design describes it: mysqldump in the MySQL pod
(--single-transaction, routines, triggers), streamed to a local file, checked
for mysqldump's end marker and hashed (sha256). The password never leaves the
pod. A failed or truncated dump leaves no file behind.

  --database NAME    database to dump (repeatable; default: the workload's
                     MYSQL_DATABASE, else every database)
  --all-databases    every database
  --output FILE      where to write (default: backups/<namespace>-<time>.sql);
                     an existing file is never overwritten
${commonUsage}`;

runTool(async () => {
  const args = parseToolArgs(process.argv.slice(2), { database: { type: "string", multiple: true }, "all-databases": { type: "boolean" }, output: { type: "string" } }, usage);
  if (args.help) {
    print(usage);
    return 0;
  }
  const setup = await connectTool(args);
  const { namespace } = setup;
  const named = (args.database as unknown as string[] | undefined) ?? [];
  const fromEnv = setup.workload.container.env?.find((e) => e.name === "MYSQL_DATABASE")?.value;
  const databases = args["all-databases"] ? "all" : named.length ? named : fromEnv ? [fromEnv] : "all";
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
  const file = resolve((args.output as string | undefined) ?? join("backups", `${namespace}-${stamp}.sql`));
  if (existsSync(file)) throw new UsageError(`${file} exists; a backup never overwrites one (pass another --output)`);
  mkdirSync(resolve(file, ".."), { recursive: true });
  const pod = await setup.waitForReadyPod({ timeoutMs: Math.min(timeouts.podReadyMs, 30_000) });
  const backup = await backupDatabase(setup, pod, file, databases);
  const facts = { ...backup, pod: pod.metadata!.name, databases, mb_per_s: +(backup.bytes / 1e6 / backup.duration_s).toFixed(2) };
  print(
    args.json
      ? JSON.stringify(facts, null, 2)
      : `backup of ${databases === "all" ? "every database" : databases.join(", ")} from pod ${facts.pod}\n  file     ${file}\n  size     ${backup.bytes} bytes\n  sha256   ${backup.sha256}\n  took     ${backup.duration_s.toFixed(2)} s (${facts.mb_per_s} MB/s)\n  complete yes (mysqldump's end marker present)`,
  );
  return 0;
});
