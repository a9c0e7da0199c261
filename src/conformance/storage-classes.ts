import type { Kube } from "../kube/client.ts";
import { nameOf } from "../kube/names.ts";
import type { LoadedObject } from "../manifests/load.ts";
import type { KnownClass } from "../manifests/rules.ts";
import { withStorageClass } from "../manifests/storage-class.ts";
import { chooseClass, type ClassFacts, type ClassNeed, csiClassName, fallbackNote } from "./storage.ts";
import { dataClaimDriver, defaultStorageClassAnnotation, listSnapshotClasses } from "./volume-snapshot.ts";

/** The cluster's StorageClasses as the static rule class-capabilities judges them: expansion, snapshots, which is the default. */
export async function knownClasses(kube: Kube): Promise<KnownClass[]> {
  const [classes, snapshotClasses] = await Promise.all([kube.storage.listStorageClass(), listSnapshotClasses(kube)]);
  const snapshotDrivers = new Set(snapshotClasses === "no-api" ? [] : snapshotClasses.map((c) => c.driver));
  return classes.items.map((c) => ({
    name: nameOf(c),
    provisioner: c.provisioner,
    isDefault: c.metadata?.annotations?.[defaultStorageClassAnnotation] === "true",
    allowVolumeExpansion: c.allowVolumeExpansion === true,
    snapshots: snapshotDrivers.has(c.provisioner),
  }));
}

/** Every StorageClass of the cluster, with whether its provisioner is a CSI driver the cluster knows. */
export async function listClassFacts(kube: Kube): Promise<ClassFacts[]> {
  const [classes, drivers] = await Promise.all([kube.storage.listStorageClass(), kube.storage.listCSIDriver().catch(() => ({ items: [] }))]);
  const csiDrivers = new Set(drivers.items.map(nameOf));
  return classes.items.map((c) => ({
    name: nameOf(c),
    provisioner: c.provisioner,
    allowVolumeExpansion: c.allowVolumeExpansion === true,
    csi: csiDrivers.has(c.provisioner),
  }));
}

/** The run's class (the data claim's, or the default class) as the cluster has it, if it has it. */
export async function runClassFacts(kube: Kube, manifests: LoadedObject[], classes: ClassFacts[]): Promise<ClassFacts | undefined> {
  const { className } = await dataClaimDriver(kube, manifests);
  return classes.find((c) => c.name === className);
}

/** The manifests on the class a check needs, the sentence saying so when it is not the run's, or why the check cannot run here. */
export async function manifestsForNeed(
  kube: Kube,
  manifests: LoadedObject[],
  need: ClassNeed,
): Promise<{ objects: LoadedObject[]; className: string; runClass?: ClassFacts; note?: string } | { skip: string }> {
  const classes = await listClassFacts(kube);
  const runClass = await runClassFacts(kube, manifests, classes);
  const choice = chooseClass(need, runClass, classes);
  if ("skip" in choice) return choice;
  const note = fallbackNote(choice, runClass?.name, need);
  return {
    objects: choice.fallback ? withStorageClass(manifests, choice.className) : manifests,
    className: choice.className,
    ...(runClass ? { runClass } : {}),
    ...(note ? { note } : {}),
  };
}

/**
 * Where the run's class cannot snapshot: conformance-csi, when the cluster
 * has it and a VolumeSnapshotClass for its driver (the embedded cluster's
 * offline node does), so the round trip runs on a class that can.
 */
export async function snapshotFallbackClass(
  kube: Kube,
  snapshotClasses: { driver: string }[] | "no-api",
): Promise<{ className: string; driver: string } | undefined> {
  if (snapshotClasses === "no-api") return undefined;
  const csi = (await listClassFacts(kube)).find((c) => c.name === csiClassName);
  return csi && snapshotClasses.some((s) => s.driver === csi.provisioner) ? { className: csi.name, driver: csi.provisioner } : undefined;
}
