/**
 * `storage-conformance SUBCOMMAND [options]`: the one command line of the
 * suite (bin/storage-conformance.js runs it; the npm scripts and Makefile
 * targets are aliases of its subcommands). Each subcommand parses its own
 * options into its own options type and checks them before anything starts.
 */
import { readFileSync } from "node:fs";
import { projectRoot } from "../paths.ts";
import { errorLine, errorObject, exitStatus, exitStatusHelp, UsageError, type Command, type CommandIo } from "./command.ts";
/**
 * The subcommands, each loaded only when it runs: `static` must not pay for
 * the Kubernetes client, Docker, MySQL and the chart library it never uses
 * (about a second of module loading on two cores).
 */
export const commands: { name: string; summary: string; load: () => Promise<Command> }[] = [
  {
    name: "run",
    summary: "the conformance run: the cluster suites on a real cluster, with reports",
    load: async () => (await import("./commands/run.ts")).run,
  },
  {
    name: "static",
    summary: "schema and storage rules of a folder of manifests, no cluster needed",
    load: async () => (await import("./commands/static.ts")).staticCheck,
  },
  {
    name: "storage-status",
    summary: "the claim, its volume and class, the MySQL pod and its mount, usage",
    load: async () => (await import("./commands/storage-status.ts")).storageStatus,
  },
  {
    name: "storage-monitor",
    summary: "samples the status and MySQL's I/O every few seconds, with the growth trend",
    load: async () => (await import("./commands/storage-monitor.ts")).storageMonitor,
  },
  {
    name: "test-persistence",
    summary: "writes records, deletes the MySQL pod, verifies them after recovery",
    load: async () => (await import("./commands/test-persistence.ts")).testPersistence,
  },
  {
    name: "backup-db",
    summary: "mysqldump streamed out of the pod, verified, with its record; rotation",
    load: async () => (await import("./commands/backup-db.ts")).backupDb,
  },
  {
    name: "restore-db",
    summary: "checks a dump against its record, restores it, verifies every table",
    load: async () => (await import("./commands/restore-db.ts")).restoreDb,
  },
  {
    name: "merge-reports",
    summary: "one report from the reports of runs made side by side",
    load: async () => (await import("./commands/merge-reports.ts")).mergeReports,
  },
];

function version(): string {
  try {
    return (JSON.parse(readFileSync(`${projectRoot}/package.json`, "utf8")) as { version?: string }).version ?? "unknown";
  } catch {
    return "unknown";
  }
}

export const mainUsage = () => `usage: storage-conformance COMMAND [options]

Proves that a MySQL-on-Kubernetes storage setup does what its design claims,
on a real cluster. Static checks need only Node.js; a live run starts a k3s
node in Docker (or uses --kubeconfig).

Commands:
${commands.map((c) => `  ${c.name.padEnd(18)} ${c.summary}`).join("\n")}

  storage-conformance COMMAND --help   the options of one command
  storage-conformance --version        the suite's version

Common options: --output-format text|json (static: also sarif), --reports DIR
(where reports go), --kubeconfig FILE, -n/--namespace NS, -h/--help.

${exitStatusHelp}`;

/** Runs one command line; returns its exit status. Every failure is one line on stderr (and a JSON object on stdout under --output-format json). */
export async function main(argv: string[], io: CommandIo = consoleIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    if (name === "help" && rest[0] !== undefined) return main([rest[0], "--help"], io);
    if (name === undefined) {
      io.err(mainUsage());
      return exitStatus.badInput;
    }
    io.out(mainUsage());
    return 0;
  }
  if (name === "--version" || name === "-V") {
    io.out(version());
    return 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    const hint = name.startsWith("-")
      ? "options follow a command, e.g. storage-conformance static --output-format json"
      : `commands: ${commands.map((c) => c.name).join(", ")}`;
    io.err(errorLine(new UsageError(`${JSON.stringify(name)} is not a command of storage-conformance`, hint)));
    return exitStatus.badInput;
  }
  // A failure before the options are read still honours --output-format json when it was asked for.
  if (rest.includes("json") && rest.some((a, i) => a === "--output-format" && rest[i + 1] === "json")) io.format = "json";
  if (rest.includes("--output-format=json")) io.format = "json";
  try {
    const command = await entry.load();
    return await command.run(rest, io);
  } catch (error) {
    const code = error instanceof UsageError ? exitStatus.badInput : exitStatus.failed;
    io.err(errorLine(error));
    if (io.format === "json") io.out(JSON.stringify(errorObject(error, code), null, 2));
    return code;
  }
}

function consoleIo(): CommandIo {
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    format: "text",
  };
}
