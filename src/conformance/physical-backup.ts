import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, statSync } from "node:fs";
import type { V1Pod } from "@kubernetes/client-node";
import { applyObjects } from "../kube/apply.ts";
import type { Kube } from "../kube/client.ts";
import { execInPod } from "../kube/exec.ts";
import { withClaimPod } from "../kube/claim-pod.ts";
import type { LoadedObject } from "../manifests/load.ts";
import { findDatabaseWorkload } from "../manifests/workload.ts";
import { timeouts } from "../timeouts.ts";
import { withRootPassword } from "../design/backup.ts";
import { DeployedSetup } from "../design/deployment.ts";
import { secondsSince } from "../clock.ts";
import { nameOf } from "../kube/names.ts";

/**
 * A filesystem-level backup of the whole server, made beside the running
 * server, packed with tar and streamed out of the pod: on MySQL with the CLONE
 * plugin (`CLONE LOCAL DATA DIRECTORY`: InnoDB pages and redo, users
 * included), on MariaDB, which has no CLONE, with mariadb-backup (a hot copy,
 * then `--prepare` applies the redo it copied so the files are consistent).
 * Restoring either means unpacking it onto a fresh claim before any mysqld
 * starts there: the entrypoint then finds a data directory and starts on it
 * instead of initialising one.
 */

export interface CloneFacts {
  clone_s: number;
  /** Size of the tar of the cloned data directory. */
  bytes: number;
  transfer_s: number;
}

/** Clones the running server in `pod` and streams the clone, as a tar, to `file`. */
export async function cloneToFile(setup: DeployedSetup, pod: V1Pod, file: string): Promise<CloneFacts> {
  const dir = `/tmp/sc-clone-${randomBytes(4).toString("hex")}`;
  const db = await setup.open();
  const started = performance.now();
  try {
    const [plugins] = await db.connection.query("SELECT PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'clone'");
    if ((plugins as unknown[]).length === 0) await db.connection.query("INSTALL PLUGIN clone SONAME 'mysql_clone.so'");
    await db.connection.query(`CLONE LOCAL DATA DIRECTORY = '${dir}'`);
  } finally {
    await db.close();
  }
  const clone_s = secondsSince(started);
  return { clone_s, ...(await packToFile(setup, pod, dir, file)) };
}

export interface MariabackupFacts {
  /** mariadb-backup --backup: the hot copy of the data directory. */
  backup_s: number;
  /** mariadb-backup --prepare: the copied redo applied, so the files are consistent. */
  prepare_s: number;
  /** Size of the tar of the prepared copy. */
  bytes: number;
  transfer_s: number;
}

/** Copies the running MariaDB server in `pod` with mariadb-backup, prepares the copy and streams it, as a tar, to `file`. */
export async function mariabackupToFile(setup: DeployedSetup, pod: V1Pod, file: string): Promise<MariabackupFacts> {
  const dir = `/tmp/sc-mariabackup-${randomBytes(4).toString("hex")}`;
  const target = containerOf(setup, pod);
  const step = async (what: string, command: string) => {
    const started = performance.now();
    const result = await execInPod(setup.kube, target, withRootPassword(command), { timeoutMs: timeouts.execMs });
    if (result.exitCode === 127)
      throw new Error(
        `pod ${target.pod} has no mariadb-backup: the database image must ship it (the official mariadb image does) for a physical backup of MariaDB`,
      );
    if (result.exitCode !== 0) {
      await execInPod(setup.kube, target, ["rm", "-rf", dir], { timeoutMs: timeouts.execMs }).catch(() => undefined);
      throw new Error(
        `mariadb-backup ${what} in pod ${target.pod} failed (exit ${result.exitCode}):\n${result.stderr.trim().split("\n").slice(-8).join("\n")}`,
      );
    }
    return secondsSince(started);
  };
  // The user and password come from the container's own environment (MYSQL_PWD), never from this process.
  const backup_s = await step("--backup", `mariadb-backup --backup --user=root --target-dir='${dir}'`);
  const prepare_s = await step("--prepare", `mariadb-backup --prepare --target-dir='${dir}'`);
  return { backup_s, prepare_s, ...(await packToFile(setup, pod, dir, file)) };
}

const containerOf = (setup: DeployedSetup, pod: V1Pod) => ({ namespace: setup.namespace, pod: nameOf(pod), container: setup.workload.container.name });

/** Streams `dir` of the MySQL container, as a tar, to `file`, and removes it from the pod. */
async function packToFile(setup: DeployedSetup, pod: V1Pod, dir: string, file: string): Promise<{ bytes: number; transfer_s: number }> {
  const target = containerOf(setup, pod);
  const sent = performance.now();
  const out = createWriteStream(file);
  const result = await execInPod(setup.kube, target, ["sh", "-c", `tar -C '${dir}' -cf - . && rm -rf '${dir}'`], { stdout: out, timeoutMs: timeouts.execMs });
  await new Promise((resolve) => out.end(resolve));
  if (result.exitCode !== 0) throw new Error(`packing the physical copy ${dir} in pod ${target.pod} failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
  return { bytes: statSync(file).size, transfer_s: secondsSince(sent) };
}

/**
 * Applies `objects` into `namespace` with the data claim filled from the tar
 * `file` before the database workload exists: a loader pod (the database's
 * own image) unpacks it into the claim, owned by the mysql user, then the
 * workload is applied and starts on that data. Resolves with the setup and
 * how long unpacking and the first Ready took.
 */
export async function restorePhysicalInto(
  kube: Kube,
  namespace: string,
  objects: LoadedObject[],
  file: string,
): Promise<{ setup: DeployedSetup; unpack_s: number; ready_s: number }> {
  const workload = findDatabaseWorkload(objects);
  if (!workload?.claimName || !workload.dataMount || workload.claimFromTemplate)
    throw new Error("the manifests' database workload keeps its data on no claim: a physical backup has nowhere to be restored");
  await applyObjects(
    kube,
    namespace,
    objects.filter((o) => o !== workload.source),
  );
  const dataDir = workload.dataMount.mountPath;
  const started = performance.now();
  await withClaimPod(
    kube,
    namespace,
    { purpose: "physical-loader", image: workload.container.image!, claim: workload.claimName, mountPath: dataDir, readOnly: false },
    async (pod) => {
      const result = await execInPod(
        kube,
        { namespace, pod, container: "helper" },
        ["sh", "-c", `tar -C '${dataDir}' -xf - && chown -R mysql:mysql '${dataDir}'`],
        {
          stdin: createReadStream(file),
          timeoutMs: timeouts.execMs,
        },
      );
      if (result.exitCode !== 0)
        throw new Error(`unpacking the physical copy onto claim ${workload.claimName} failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
    },
  );
  const unpack_s = secondsSince(started);
  const applied = performance.now();
  const setup = await DeployedSetup.deploy(kube, namespace, objects);
  await setup.waitForReadyPod();
  return { setup, unpack_s, ready_s: secondsSince(applied) };
}
