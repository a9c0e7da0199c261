import type { KubernetesObject, V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { applyObjects, placedIn } from "../kube/apply.ts";
import { describeApiError, type Kube } from "../kube/client.ts";
import { collectDiagnostics } from "../kube/diagnostics.ts";
import { waitFor } from "../kube/wait.ts";
import type { LoadedObject } from "../manifests/load.ts";
import { parseQuantity } from "../manifests/quantity.ts";
import { findDatabaseWorkload } from "../manifests/workload.ts";
import { pollIntervals, timeouts } from "../timeouts.ts";
import { DeployedSetup } from "../design/deployment.ts";
import { secondsSince } from "../clock.ts";
import { nameOf } from "../kube/names.ts";

/**
 * The design's "Volume Snapshots: weekly filesystem-level backups" as
 * Kubernetes offers them: a VolumeSnapshot of the data claim (CSI snapshots,
 * snapshot.storage.k8s.io/v1), restored into a new claim through
 * `spec.dataSource`. Only a CSI driver with a VolumeSnapshotClass can take
 * one; the embedded cluster's local-path provisioner cannot, so there the
 * check says so instead of pretending.
 */

export const snapshotApiVersion = "snapshot.storage.k8s.io/v1";
const defaultClassAnnotation = "snapshot.storage.kubernetes.io/is-default-class";

export interface SnapshotClass {
  name: string;
  driver: string;
  isDefault: boolean;
  deletionPolicy?: string;
}

/** The class to snapshot a claim of `driver` with: the default one for that driver, else the only one, else the first by name. */
export function chooseSnapshotClass(classes: SnapshotClass[], driver: string): SnapshotClass | undefined {
  const forDriver = classes.filter((c) => c.driver === driver).sort((a, b) => a.name.localeCompare(b.name));
  return forDriver.find((c) => c.isDefault) ?? forDriver[0];
}

/** Why no snapshot can be taken of a claim of `driver`, for the report; undefined when one can. */
export function snapshotUnavailable(classes: SnapshotClass[] | "no-api", driver: string): string | undefined {
  if (classes === "no-api")
    return `the cluster serves no VolumeSnapshot API (${snapshotApiVersion}: the external-snapshotter's CRDs and controller are not installed): the design's weekly volume snapshots cannot run on this cluster`;
  if (chooseSnapshotClass(classes, driver)) return undefined;
  const others = [...new Set(classes.map((c) => c.driver))];
  return `no VolumeSnapshotClass for the claim's driver ${driver}${others.length ? ` (classes exist for ${others.join(", ")})` : ""}: the design's weekly volume snapshots cannot run on this cluster`;
}

/** The VolumeSnapshot of `claim`. */
export function snapshotObject(name: string, namespace: string, claim: string, className: string): KubernetesObject & { spec: unknown } {
  return {
    apiVersion: snapshotApiVersion,
    kind: "VolumeSnapshot",
    metadata: { name, namespace },
    spec: { volumeSnapshotClassName: className, source: { persistentVolumeClaimName: claim } },
  };
}

/**
 * The declared claim again, filled from the snapshot `snapshotName`. It asks
 * for at least the snapshot's restore size: a driver that rounded the volume
 * up (cloud disks do) refuses a claim smaller than its snapshot.
 */
export function claimFromSnapshot(declared: V1PersistentVolumeClaim, snapshotName: string, restoreSize?: string): V1PersistentVolumeClaim {
  const claim = structuredClone(declared);
  delete claim.status;
  claim.spec ??= {};
  claim.spec.dataSource = { apiGroup: "snapshot.storage.k8s.io", kind: "VolumeSnapshot", name: snapshotName };
  const requested = claim.spec.resources?.requests?.storage;
  const requestedBytes = parseQuantity(requested);
  const restoreBytes = parseQuantity(restoreSize);
  if (restoreSize && restoreBytes !== undefined && (requestedBytes === undefined || restoreBytes > requestedBytes))
    claim.spec.resources = { ...claim.spec.resources, requests: { ...claim.spec.resources?.requests, storage: restoreSize } };
  return claim;
}

interface SnapshotStatus {
  readyToUse?: boolean;
  creationTime?: string;
  restoreSize?: string;
  error?: { message?: string; time?: string };
}

/** The VolumeSnapshotClasses the cluster has, or "no-api" when it serves no snapshot API at all. */
export async function listSnapshotClasses(kube: Kube): Promise<SnapshotClass[] | "no-api"> {
  try {
    const list = await kube.objects.list(snapshotApiVersion, "VolumeSnapshotClass");
    return list.items.map((item) => {
      const c = item as KubernetesObject & { driver?: string; deletionPolicy?: string };
      return {
        name: nameOf(c),
        driver: c.driver ?? "",
        isDefault: c.metadata?.annotations?.[defaultClassAnnotation] === "true",
        ...(c.deletionPolicy ? { deletionPolicy: c.deletionPolicy } : {}),
      };
    });
  } catch (error) {
    const e = error as { code?: number; message?: string };
    // No CRD: discovery does not know the kind (client-node says so), or the server answers 404.
    if (e.code === 404 || /Unrecognized API version and kind|resource .* not found/i.test(e.message ?? "")) return "no-api";
    throw new Error(`listing VolumeSnapshotClasses failed: ${describeApiError(error)}`);
  }
}

export interface SnapshotFacts {
  /** From the VolumeSnapshot's creation to its creationTime: the cut, taken under FLUSH TABLES WITH READ LOCK. */
  cut_s: number;
  /** From the VolumeSnapshot's creation to readyToUse. */
  ready_s: number;
  restoreSize?: string;
  /** The Deployment and its claim deleted, the claim made again from the snapshot, MySQL Ready on it. */
  restore_s: number;
}

/**
 * Snapshots the data claim of `setup` under FLUSH TABLES WITH READ LOCK (held
 * until the cut, as the Kubernetes documentation advises for an application
 * freeze: no write in flight; InnoDB's files are crash-consistent and its redo
 * replays at the next start), then deletes the workload and the claim, makes
 * the claim again from the snapshot and starts the workload on it. Resolves
 * with the timings and the setup running on the restored claim.
 */
export async function snapshotAndRestore(setup: DeployedSetup, className: string): Promise<{ facts: SnapshotFacts; restored: DeployedSetup }> {
  const { kube, namespace, workload } = setup;
  const claimName = workload.claimName;
  const declared = setup.objects.find((o) => o.object.kind === "PersistentVolumeClaim" && o.object.metadata?.name === claimName);
  if (!claimName || workload.claimFromTemplate || !declared)
    throw new Error("the manifests' database workload keeps its data on no declared claim: a volume snapshot has no claim to restore");
  const name = `${claimName}-snapshot-${Date.now().toString(36)}`;
  const describe = (s: SnapshotStatus | undefined) =>
    `readyToUse=${s?.readyToUse ?? "unset"} creationTime=${s?.creationTime ?? "unset"}${s?.error?.message ? ` error: ${s.error.message}` : ""}`;
  const readStatus = async () =>
    ((await kube.objects.read({ apiVersion: snapshotApiVersion, kind: "VolumeSnapshot", metadata: { name, namespace } })) as { status?: SnapshotStatus })
      .status;
  const waitOptions = (what: string) => ({
    what,
    signal: kube.signal,
    timeoutMs: timeouts.snapshotReadyMs,
    intervalMs: pollIntervals.defaultMs,
    describe,
    diagnose: async () => (await collectDiagnostics(kube, namespace)).summary,
  });

  const failed = (s: SnapshotStatus | undefined) => (s?.error?.message ? `the snapshot failed: ${s.error.message}` : undefined);
  const db = await setup.open();
  let started: number;
  let cut_s: number;
  try {
    await db.connection.query("FLUSH TABLES WITH READ LOCK");
    started = performance.now();
    await kube.objects.create(snapshotObject(name, namespace, claimName, className));
    // Held until the cut; a snapshot error ends the check rather than a cut taken later without the lock.
    await waitFor(readStatus, (s) => Boolean(s?.creationTime), { ...waitOptions(`VolumeSnapshot ${name} to be cut`), deadEnd: failed });
    cut_s = secondsSince(started);
    // Not swallowed: a session lost while waiting had already dropped the lock, and the claim "cut under the lock" would be untrue.
    await db.connection.query("UNLOCK TABLES");
  } finally {
    await db.close();
  }
  const ready = await waitFor(readStatus, (s) => s?.readyToUse === true, { ...waitOptions(`VolumeSnapshot ${name} to be ready to use`), deadEnd: failed });
  const ready_s = secondsSince(started);

  // The claim can be made again from the snapshot only once the old one is gone, and it is gone only once no pod uses it.
  const restoreStarted = performance.now();
  await kube.objects.delete(placedIn(workload.source.object, namespace) as KubernetesObject);
  await waitFor(
    async () => (await kube.core.listNamespacedPod({ namespace, labelSelector: setup.selector })).items.length,
    (n) => n === 0,
    { ...waitOptions(`the pods of ${workload.kind}/${workload.name} to be gone`), timeoutMs: timeouts.podDeletedMs, describe: (n) => `${n} pods` },
  );
  await kube.core.deleteNamespacedPersistentVolumeClaim({ name: claimName, namespace });
  await waitFor(
    async () => (await kube.core.listNamespacedPersistentVolumeClaim({ namespace, fieldSelector: `metadata.name=${claimName}` })).items.length,
    (n) => n === 0,
    { ...waitOptions(`claim ${claimName} to be gone`), timeoutMs: timeouts.podDeletedMs, describe: (n) => (n ? "still there" : "gone") },
  );
  const restoredClaim: LoadedObject = {
    ...declared,
    object: claimFromSnapshot(declared.object as V1PersistentVolumeClaim, name, ready?.restoreSize) as LoadedObject["object"],
  };
  await applyObjects(kube, namespace, [restoredClaim, workload.source]);
  const restored = DeployedSetup.attach(
    kube,
    namespace,
    setup.objects.map((o) => (o === declared ? restoredClaim : o)),
  );
  await restored.waitForReadyPod();
  return { facts: { cut_s, ready_s, ...(ready?.restoreSize ? { restoreSize: ready.restoreSize } : {}), restore_s: secondsSince(restoreStarted) }, restored };
}

/** The annotation that makes a StorageClass the cluster's default (a claim naming no class gets it). */
export const defaultStorageClassAnnotation = "storageclass.kubernetes.io/is-default-class";

/**
 * The provisioner (for CSI: the driver) that makes the manifests' data claim
 * on this cluster: its declared class's, else the cluster's default class's;
 * `missing` says why there is none.
 */
export async function dataClaimDriver(kube: Kube, objects: LoadedObject[]): Promise<{ className?: string; driver?: string; missing?: string }> {
  const workloadClaim = findDatabaseWorkload(objects)?.claimName;
  const declared = objects.find((o) => o.object.kind === "PersistentVolumeClaim" && o.object.metadata?.name === workloadClaim)?.object as
    | V1PersistentVolumeClaim
    | undefined;
  const classes = (await kube.storage.listStorageClass()).items;
  const named = declared?.spec?.storageClassName;
  const sc = named ? classes.find((c) => c.metadata?.name === named) : classes.find((c) => c.metadata?.annotations?.[defaultStorageClassAnnotation] === "true");
  if (!sc?.provisioner)
    return {
      missing: named
        ? `the data claim asks for StorageClass "${named}", which this cluster does not have (--storage-class names one it has): no driver to snapshot with`
        : "the data claim names no StorageClass and the cluster has no default one: no driver to snapshot with",
    };
  return { className: nameOf(sc), driver: sc.provisioner };
}
