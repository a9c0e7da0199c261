import { resolve } from "node:path";
import { restoreDatabase } from "../../design/backup.ts";
import { openDatabase, type Database } from "../../mysql/client.ts";
import { existingTables, measureRestored, quoteIdentifier } from "../../ops/backup-data.ts";
import { RecordError } from "../../ops/backup-record.ts";
import { checkDump, databasesToRestore, engineRefusal, formatVerdict, planRestore, RestoreRefused, verifyRestored } from "../../ops/restore.ts";
import { timeouts } from "../../timeouts.ts";
import { nameOf } from "../../kube/names.ts";
import { parseOptions } from "../args.ts";
import { UsageError, type Command } from "../command.ts";
import { clusterOptions, clusterOptionsOf, clusterUsage, connectTool, toolSettings } from "../tool.ts";

const usage = `usage: storage-conformance restore-db --input FILE [options]
       (npm run restore-db -- --input FILE [options], make restore-db ARGS="...")

The design's "Restore from backup if needed", for a dump backup-db made.
Before the server is touched, the file is checked: it exists and can be read,
its record FILE.json is beside it and parses, it ends with mysqldump's end
marker (else it is truncated), and its sha256 is the recorded one. A dump made
on another engine than the server's (MariaDB and MySQL) is refused, and so is
a database that already has tables, unless --replace. The dump is streamed
into the mysql client in the MySQL pod (the password never leaves the pod);
then every table's rows and checksum are compared with the record. Bad input
is one line and exit 2, with nothing changed on the server; a restore whose
data differs from the record is a failed check.

  --input FILE       the dump (backup-db's FILE, with FILE.json beside it)
  --database NAME    the database you mean to restore: a dump of another is refused
  --replace          drop the dump's databases first when they exist (the dump
                     creates them again, with their original character set)
  --cross-engine     restore a dump made on another engine (MariaDB into MySQL
                     or the reverse) anyway
${clusterUsage}`;

const options = {
  ...clusterOptions,
  input: { type: "string" },
  database: { type: "string" },
  replace: { type: "boolean" },
  "cross-engine": { type: "boolean" },
} as const;

export const restoreDb: Command = {
  name: "restore-db",
  summary: "checks a dump against its record, restores it, verifies every table",
  usage,
  async run(argv, io) {
    const args = parseOptions(argv, options, "restore-db");
    if (args.help) {
      io.out(usage);
      return 0;
    }
    const cluster = clusterOptionsOf(args);
    io.format = cluster.format;
    if (args.input === undefined)
      throw new UsageError("--input FILE is required: the dump to restore", "name the dump backup-db wrote (with its record FILE.json beside it)");
    const file = resolve(args.input);
    // Everything about the file is checked before the cluster is even contacted.
    const refused = (error: unknown): never => {
      if (error instanceof RestoreRefused || error instanceof RecordError) throw new UsageError(error.message);
      throw error;
    };
    const dump = await checkDump(file).catch(refused);
    let databases: string[] = [];
    try {
      databases = databasesToRestore(dump, args.database);
    } catch (error) {
      refused(error);
    }

    const setup = await connectTool(cluster, toolSettings());
    const pod = await setup.waitForReadyPod({ timeoutMs: Math.min(timeouts.podReadyMs, timeouts.toolPodReadyMs) });
    const podName = nameOf(pod);
    const open = async (): Promise<Database> => openDatabase(setup.kube, setup.namespace, podName, await setup.rootCredentials(), timeouts.mysqlReadyMs);
    let db = await open();
    const serverVersion = db.serverVersion;
    let dropped: string[] = [];
    try {
      const engine = engineRefusal(dump.record, serverVersion, !!args["cross-engine"]);
      if (engine) throw new UsageError(engine);
      const plan = planRestore(databases, await existingTables(db.connection, databases), !!args.replace);
      if (plan.action === "refuse") throw new UsageError(plan.reason);
      // From here on the server changes.
      dropped = plan.drop;
      for (const database of dropped) await db.connection.query(`DROP DATABASE ${quoteIdentifier(database)}`);
    } finally {
      await db.close();
    }

    let restored;
    try {
      restored = await restoreDatabase(setup, pod, file);
    } catch (error) {
      throw new Error(`${(error as Error).message.split("\n")[0]}; the server may hold part of the dump: run again with --replace`);
    }
    db = await open();
    let verdicts;
    try {
      verdicts = verifyRestored(dump.record, await measureRestored(db.connection, dump.record));
    } finally {
      await db.close();
    }
    const verified = verdicts.every((v) => v.verified);
    const facts = {
      verdict: verified ? "verified" : "differs from the record",
      file,
      databases,
      dropped,
      pod: podName,
      server_version: serverVersion,
      dump: {
        made_at: dump.record.madeAt,
        namespace: dump.record.namespace,
        pod: dump.record.pod,
        server_version: dump.record.server.version,
        bytes: dump.bytes,
        sha256: dump.sha256,
      },
      duration_s: +restored.duration_s.toFixed(2),
      tables: verdicts,
    };
    io.out(
      cluster.format === "json"
        ? JSON.stringify(facts, null, 2)
        : [
            `restore of ${databases.join(", ")} into pod ${podName} (${serverVersion}) from ${file}`,
            `  dump     made ${dump.record.madeAt} in ${dump.record.namespace}/${dump.record.pod} on ${dump.record.server.version}; ${dump.bytes} bytes, sha256 ${dump.sha256.slice(0, 16)}… as recorded`,
            ...(dropped.length ? [`  replaced ${dropped.join(", ")} (dropped, then created again by the dump)`] : []),
            `  took     ${facts.duration_s} s`,
            ...verdicts.map(formatVerdict),
            verified
              ? `  verified: every table has the rows and checksum the record holds (${verdicts.length} tables)`
              : `  NOT VERIFIED: ${verdicts.filter((v) => !v.verified).length} of ${verdicts.length} tables differ from the record`,
          ].join("\n"),
    );
    return verified ? 0 : 1;
  },
};
