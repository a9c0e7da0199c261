import { createHash } from "node:crypto";
import { existsSync, mkdirSync, openSync, closeSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { Kube } from "../kube/client.ts";
import type { LoadedObject } from "../manifests/load.ts";
import { findDatabaseWorkload } from "../manifests/workload.ts";
import { engineOfVersion } from "../mysql/engines.ts";
import { DeployedSetup } from "../design/deployment.ts";
import { cloneToFile, mariabackupToFile, restorePhysicalInto } from "./physical-backup.ts";

/**
 * A freshly initialised data directory as a fixture. MySQL 9.7 takes about
 * 10 s to initialise one on two cores, and a run deploys the design a dozen
 * times where initialisation is not what is checked. The first deployment of
 * a run initialises as the image does (that proves the image's own
 * initialisation) and is copied at once, while still empty (CLONE on MySQL,
 * mariadb-backup on MariaDB); later fresh claims of the same workload get
 * that copy unpacked before their Deployment exists, and the server starts on
 * it instead of initialising. Checks that used a copy record it
 * (`data_dir_from`).
 */

/** Where a run's seeds live: one tarball per workload, removed when the run ends. */
export const seedDir = (runId: string): string => join(tmpdir(), "storage-conformance-seeds", runId);

/**
 * What makes two deployments' initialised data directories interchangeable:
 * the database container's image, command, arguments and environment, and
 * every Secret and ConfigMap they may read (the root password, the database
 * and user the entrypoint creates).
 */
export function seedKey(objects: LoadedObject[]): string | undefined {
  const workload = findDatabaseWorkload(objects);
  if (!workload?.claimName || !workload.dataMount || workload.claimFromTemplate) return undefined;
  const { image, command, args, env } = workload.container;
  const inputs = objects.filter((o) => o.object.kind === "Secret" || o.object.kind === "ConfigMap").map((o) => o.object);
  return createHash("sha256").update(JSON.stringify({ image, command, args, env, inputs })).digest("hex").slice(0, 16);
}

export interface SeededDeployment {
  setup: DeployedSetup;
  /** How the data directory came to be: initialised by the image, or a copy of the run's first. */
  dataDirFrom: "initialised by the image" | "a copy of the run's first initialised data directory";
}

/**
 * Deploys `objects` into `namespace`, on a copy of the run's first
 * initialised data directory when there is one for this workload; else
 * initialises as the image does, waits for Ready and keeps a copy for the
 * next. Resolves once MySQL is Ready.
 */
export async function deploySeeded(kube: Kube, namespace: string, objects: LoadedObject[], runId: string): Promise<SeededDeployment> {
  const key = seedKey(objects);
  const file = key ? join(seedDir(runId), `${key}.tar`) : undefined;
  if (file && existsSync(file)) {
    const { setup } = await restorePhysicalInto(kube, namespace, objects, file);
    return { setup, dataDirFrom: "a copy of the run's first initialised data directory" };
  }
  const setup = await DeployedSetup.deploy(kube, namespace, objects);
  const pod = await setup.waitForReadyPod();
  if (file) await keepSeed(setup, pod, file).catch(() => undefined); // a missing copy only costs the next deployment its initialisation
  return { setup, dataDirFrom: "initialised by the image" };
}

/** Copies the just-initialised server into `file`, unless another deployment of the run is already doing so. */
async function keepSeed(setup: DeployedSetup, pod: Parameters<typeof cloneToFile>[1], file: string): Promise<void> {
  mkdirSync(join(file, ".."), { recursive: true });
  let lock: number;
  try {
    lock = openSync(`${file}.lock`, "wx");
  } catch {
    return;
  }
  const partial = `${file}.partial`;
  try {
    const db = await setup.open();
    const version = db.serverVersion;
    await db.close();
    if (engineOfVersion(version) === "mariadb") await mariabackupToFile(setup, pod, partial);
    else await cloneToFile(setup, pod, partial);
    renameSync(partial, file);
  } finally {
    rmSync(partial, { force: true });
    closeSync(lock);
  }
}

/** Removes a run's seeds. */
export function removeSeeds(runId: string): void {
  rmSync(seedDir(runId), { recursive: true, force: true });
}
