import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, openSync, renameSync, rmSync, statSync } from "node:fs";
import { writeCause } from "../files.ts";
import { open } from "node:fs/promises";
import { PassThrough } from "node:stream";
import { finished } from "node:stream/promises";
import type { V1Pod } from "@kubernetes/client-node";
import { execInPod } from "../kube/exec.ts";
import { datasetDatabase } from "../mysql/dataset.ts";
import { timeouts } from "../timeouts.ts";
import type { DeployedSetup } from "./deployment.ts";
import { nameOf } from "../kube/names.ts";

export const dumpEndMarker = "-- Dump completed on";

export interface BackupFacts {
  file: string;
  bytes: number;
  sha256: string;
  duration_s: number;
  complete: boolean;
}

/**
 * MySQL with GTIDs on (Debian's 9.7 has them on) writes `SET @@GLOBAL.GTID_PURGED`
 * into a dump, which a server that already executed those GTIDs refuses
 * (ERROR 3546), the dump's own source included. The backup is a logical copy
 * to restore anywhere, not a replica's seed: its transactions get new GTIDs
 * where it is restored. MariaDB's mysqldump has no such option.
 */
const gtidOption = `$(mysqldump --help 2>/dev/null | grep -q -- '--set-gtid-purged' && echo --set-gtid-purged=OFF)`;

/**
 * `command` run by sh in the MySQL container with MYSQL_PWD set from the
 * container's own MYSQL_ROOT_PASSWORD: the password stays in the pod, in no
 * argv, log or report.
 */
export const withRootPassword = (command: string): string[] => ["sh", "-c", `MYSQL_PWD="$MYSQL_ROOT_PASSWORD" exec ${command}`];

/**
 * mysqldump through exec, streamed to `file` and hashed on the way; never held
 * whole in memory. `databases` names what to dump; "all" dumps every database.
 */
export async function backupDatabase(setup: DeployedSetup, pod: V1Pod, file: string, databases: string[] | "all" = [datasetDatabase]): Promise<BackupFacts> {
  for (const name of databases === "all" ? [] : databases) {
    if (!/^[A-Za-z0-9_$]+$/.test(name)) throw new Error(`"${name}" is not a database name mysqldump is given here (letters, digits, _ and $ only)`);
  }
  const what = databases === "all" ? "--all-databases" : `--databases ${databases.join(" ")}`;
  // Written aside and renamed when complete: a failed dump never leaves a file that looks like a backup.
  const partial = `${file}.partial`;
  const sink = hashedFileSink(partial);
  try {
    const started = performance.now();
    const result = await execInPod(
      setup.kube,
      { namespace: setup.namespace, pod: nameOf(pod), container: setup.workload.container.name },
      withRootPassword(`mysqldump -uroot --single-transaction --routines --triggers ${gtidOption} ${what}`),
      { stdout: sink.input, timeoutMs: timeouts.execMs },
    );
    const { sha256 } = await sink.finish();
    const duration_s = (performance.now() - started) / 1000;
    if (result.exitCode !== 0) {
      throw new Error(`mysqldump in ${pod.metadata?.name} exited ${result.exitCode}: ${result.stderr.trim().split("\n")[0]}`);
    }
    const bytes = statSync(partial).size;
    const complete = (await readTail(partial, 200)).includes(dumpEndMarker);
    if (!complete) {
      throw new Error(`the dump of ${file} (${bytes} bytes) has no "${dumpEndMarker}" line at its end: it is truncated (is the disk full?)`);
    }
    renameSync(partial, file);
    return { file, bytes, sha256, duration_s, complete };
  } catch (error) {
    sink.abandon();
    throw error;
  }
}

/**
 * A file being written from a stream and hashed on the way: `input` takes the
 * bytes, `finish()` ends it and resolves with their sha256 once all is on
 * disk, `abandon()` removes it. The file is opened at once, so a folder that
 * refuses it is said before anything is streamed; a write that fails later
 * (a full disk, a vanished mount) rejects `finish()` with its cause, never
 * as an unhandled 'error' event, and the rest of the stream is drained so the
 * producer is never left blocked.
 */
export function hashedFileSink(path: string): { input: PassThrough; finish(): Promise<{ sha256: string }>; abandon(): void } {
  let fd: number;
  try {
    fd = openSync(path, "w");
  } catch (error) {
    throw new Error(`${path} cannot be written: ${writeCause(error, path)}`);
  }
  const hash = createHash("sha256");
  const sink = createWriteStream(path, { fd });
  const input = new PassThrough();
  let writeError: Error | undefined;
  sink.on("error", (error) => {
    writeError ??= error;
    input.unpipe(sink);
    input.resume();
  });
  input.on("data", (chunk: Buffer) => hash.update(chunk));
  input.pipe(sink);
  return {
    input,
    async finish() {
      input.end();
      if (!writeError) await finished(sink).catch((error: Error) => (writeError ??= error));
      if (writeError) throw new Error(`writing ${path} failed: ${writeCause(writeError, path)}`);
      return { sha256: hash.digest("hex") };
    },
    abandon() {
      sink.destroy();
      rmSync(path, { force: true });
    },
  };
}

/** Streams a dump into the mysql client of `pod`. */
export async function restoreDatabase(setup: DeployedSetup, pod: V1Pod, file: string): Promise<{ duration_s: number }> {
  const started = performance.now();
  const result = await execInPod(
    setup.kube,
    { namespace: setup.namespace, pod: nameOf(pod), container: setup.workload.container.name },
    withRootPassword("mysql -uroot"),
    { stdin: createReadStream(file), timeoutMs: timeouts.execMs },
  );
  if (result.exitCode !== 0)
    throw new Error(`restoring ${file} into ${pod.metadata?.name} failed (exit ${result.exitCode}): ${result.stderr.trim().split("\n")[0]}`);
  return { duration_s: (performance.now() - started) / 1000 };
}

async function readTail(file: string, bytes: number): Promise<string> {
  const handle = await open(file, "r");
  try {
    const size = (await handle.stat()).size;
    const buffer = Buffer.alloc(Math.min(bytes, size));
    await handle.read(buffer, 0, buffer.length, size - buffer.length);
    return buffer.toString("utf8");
  } finally {
    await handle.close();
  }
}
