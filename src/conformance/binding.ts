import type { V1PersistentVolume, V1StorageClass } from "@kubernetes/client-node";
import { describeApiError } from "../kube/client.ts";
import { parseQuantity } from "../manifests/quantity.ts";
import type { DeployedSetup } from "../design/deployment.ts";

/** What the design document says of its default StorageClass (minikube's). */
export const designStorageClassClaims = {
  provisioner: "k8s.io/minikube-hostpath",
  reclaimPolicy: "Delete",
  volumeBindingMode: "Immediate",
  allowVolumeExpansion: false,
} as const;

export interface BindingFacts {
  storageClass: { name: string; provisioner: string; reclaimPolicy: string; volumeBindingMode: string; allowVolumeExpansion: boolean };
  /** path: where a hostPath or local volume lives on its node; csiDriver: the driver of a CSI volume. */
  volume: { name: string; capacity: string; accessModes: string[]; reclaimPolicy: string; provisionedBy: string; path?: string; csiDriver?: string };
  requested: string;
  /** The access modes the claim declares. */
  declaredAccessModes: string[];
  /** Where the cluster differs from what the design document states, in words. */
  designDifferences: string[];
}

/** Where the claim's volume differs from its class and from the claim, one sentence each; empty when it matches. */
export function bindingMismatches(facts: BindingFacts, claimName: string): string[] {
  const { volume, storageClass, requested } = facts;
  const found: string[] = [];
  if (volume.provisionedBy !== storageClass.provisioner) {
    found.push(
      `PV ${volume.name} was not dynamically provisioned by StorageClass ${storageClass.name}'s provisioner: expected annotation pv.kubernetes.io/provisioned-by=${storageClass.provisioner}, found "${volume.provisionedBy || "none"}" (a pre-created volume?)`,
    );
  }
  if ((parseQuantity(volume.capacity) ?? 0) < (parseQuantity(requested) ?? 0)) {
    found.push(`PV ${volume.name} holds ${volume.capacity}, less than the ${requested} claim ${claimName} requests`);
  }
  const missingModes = facts.declaredAccessModes.filter((m) => !volume.accessModes.includes(m));
  if (missingModes.length) {
    found.push(`PV ${volume.name} lacks the access modes the claim declares: ${missingModes.join(", ")} (it has ${volume.accessModes.join(", ")})`);
  }
  if (volume.reclaimPolicy !== storageClass.reclaimPolicy) {
    found.push(`PV ${volume.name} has reclaim policy ${volume.reclaimPolicy}, not its class's ${storageClass.reclaimPolicy}`);
  }
  return found;
}

/**
 * After the claim is Bound: its volume was made by the class's provisioner,
 * holds at least the request, and has the declared access modes and the
 * class's reclaim policy. Throws a message naming the first mismatch (for
 * checks that need a correct binding first; the binding suite states each).
 */
export async function verifyBinding(setup: DeployedSetup): Promise<BindingFacts> {
  const facts = await readBinding(setup);
  const [first] = bindingMismatches(facts, setup.claimName);
  if (first) throw new Error(first);
  return facts;
}

/** The claim's volume and class as the cluster has them, with where they differ from the design document. */
export async function readBinding(setup: DeployedSetup): Promise<BindingFacts> {
  const { kube, namespace } = setup;
  const claim = await kube.core.readNamespacedPersistentVolumeClaim({ name: setup.claimName, namespace });
  const volumeName = claim.spec?.volumeName;
  if (!volumeName) throw new Error(`claim ${setup.claimName} is Bound but names no PersistentVolume`);
  let volume: V1PersistentVolume;
  let storageClass: V1StorageClass;
  const className = claim.spec?.storageClassName ?? "";
  try {
    volume = await kube.core.readPersistentVolume({ name: volumeName });
    storageClass = await kube.storage.readStorageClass({ name: className });
  } catch (error) {
    throw new Error(`reading PV ${volumeName} / StorageClass "${className}": ${describeApiError(error)}`);
  }
  const provisionedBy = volume.metadata?.annotations?.["pv.kubernetes.io/provisioned-by"] ?? "";
  const requested = claim.spec?.resources?.requests?.storage ?? "0";
  const capacity = volume.spec?.capacity?.storage ?? "0";
  const volumeModes = volume.spec?.accessModes ?? [];
  const classReclaim = storageClass.reclaimPolicy ?? "Delete";
  const reclaim = volume.spec?.persistentVolumeReclaimPolicy ?? "";

  const facts: BindingFacts = {
    storageClass: {
      name: className,
      provisioner: storageClass.provisioner,
      reclaimPolicy: classReclaim,
      volumeBindingMode: storageClass.volumeBindingMode ?? "Immediate",
      allowVolumeExpansion: storageClass.allowVolumeExpansion ?? false,
    },
    volume: {
      name: volumeName,
      capacity,
      accessModes: volumeModes,
      reclaimPolicy: reclaim,
      provisionedBy,
      path: volume.spec?.hostPath?.path ?? volume.spec?.local?.path,
      ...(volume.spec?.csi?.driver ? { csiDriver: volume.spec.csi.driver } : {}),
    },
    requested,
    declaredAccessModes: claim.spec?.accessModes ?? [],
    designDifferences: [],
  };
  const seen = {
    provisioner: facts.storageClass.provisioner,
    reclaimPolicy: classReclaim,
    volumeBindingMode: facts.storageClass.volumeBindingMode,
    allowVolumeExpansion: facts.storageClass.allowVolumeExpansion,
  };
  for (const [key, claimed] of Object.entries(designStorageClassClaims)) {
    const actual = seen[key as keyof typeof seen];
    if (actual !== claimed) facts.designDifferences.push(`the design says ${key} is ${claimed}; this cluster's class "${className}" has ${actual}`);
  }
  if (facts.storageClass.volumeBindingMode === "WaitForFirstConsumer") {
    facts.designDifferences.push("binding waits for the first pod (WaitForFirstConsumer), so the claim stays Pending until MySQL is scheduled");
  }
  if (storageClass.provisioner === "rancher.io/local-path") {
    facts.designDifferences.push(
      `local-path volumes are directories on one node's disk: the ${requested} request is not enforced as a limit, and the data cannot follow the pod to another node (the design's "survives node failures" does not hold for a lost node)`,
    );
  }
  return facts;
}
