import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, renameSync, rmSync, statSync } from "node:fs";
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
  const hash = createHash("sha256");
  // Written aside and renamed when complete: a failed dump never leaves a file that looks like a backup.
  const partial = `${file}.partial`;
  const sink = createWriteStream(partial);
  const tee = new PassThrough();
  tee.on("data", (chunk: Buffer) => hash.update(chunk));
  tee.pipe(sink);
  try {
    return await dumpInto();
  } catch (error) {
    sink.destroy();
    rmSync(partial, { force: true });
    throw error;
  }

  async function dumpInto(): Promise<BackupFacts> {
    const started = performance.now();
    const result = await execInPod(
      setup.kube,
      { namespace: setup.namespace, pod: nameOf(pod), container: setup.workload.container.name },
      withRootPassword(`mysqldump -uroot --single-transaction --routines --triggers ${gtidOption} ${what}`),
      { stdout: tee, timeoutMs: timeouts.execMs },
    );
    tee.end();
    await finished(sink).catch((error: Error) => {
      throw new Error(`writing ${partial} failed: ${error.message} (is the disk full?)`);
    });
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
    return { file, bytes, sha256: hash.digest("hex"), duration_s, complete };
  }
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
