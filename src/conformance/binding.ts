import type { V1PersistentVolume, V1StorageClass } from "@kubernetes/client-node";
import { describeApiError } from "../kube/client.ts";
import { parseQuantity } from "../manifests/quantity.ts";
import type { DeployedSetup } from "./deployment.ts";

/** What the design document says of its default StorageClass (minikube's). */
export const designStorageClassClaims = {
  provisioner: "k8s.io/minikube-hostpath",
  reclaimPolicy: "Delete",
  volumeBindingMode: "Immediate",
  allowVolumeExpansion: false,
} as const;

export interface BindingFacts {
  storageClass: { name: string; provisioner: string; reclaimPolicy: string; volumeBindingMode: string; allowVolumeExpansion: boolean };
  volume: { name: string; capacity: string; accessModes: string[]; reclaimPolicy: string; provisionedBy: string; path?: string };
  requested: string;
  /** Where the cluster differs from what the design document states, in words. */
  designDifferences: string[];
}

/**
 * After the claim is Bound: its volume was made by the class's provisioner,
 * holds at least the request, and has the declared access modes and the
 * class's reclaim policy. Throws a message naming the first mismatch.
 */
export async function verifyBinding(setup: DeployedSetup): Promise<BindingFacts> {
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
  if (provisionedBy !== storageClass.provisioner) {
    throw new Error(
      `PV ${volumeName} was not dynamically provisioned by StorageClass ${className}'s provisioner: expected annotation pv.kubernetes.io/provisioned-by=${storageClass.provisioner}, found "${provisionedBy || "none"}" (a pre-created volume?)`,
    );
  }
  const requested = claim.spec?.resources?.requests?.storage ?? "0";
  const capacity = volume.spec?.capacity?.storage ?? "0";
  if ((parseQuantity(capacity) ?? 0) < (parseQuantity(requested) ?? 0)) {
    throw new Error(`PV ${volumeName} holds ${capacity}, less than the ${requested} claim ${setup.claimName} requests`);
  }
  const declaredModes = claim.spec?.accessModes ?? [];
  const volumeModes = volume.spec?.accessModes ?? [];
  const missingModes = declaredModes.filter((m) => !volumeModes.includes(m));
  if (missingModes.length)
    throw new Error(`PV ${volumeName} lacks the access modes the claim declares: ${missingModes.join(", ")} (it has ${volumeModes.join(", ")})`);
  const classReclaim = storageClass.reclaimPolicy ?? "Delete";
  const reclaim = volume.spec?.persistentVolumeReclaimPolicy ?? "";
  if (reclaim !== classReclaim) throw new Error(`PV ${volumeName} has reclaim policy ${reclaim}, not its class's ${classReclaim}`);

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
    },
    requested,
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
