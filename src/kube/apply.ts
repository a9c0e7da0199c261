import type { KubernetesObject } from "@kubernetes/client-node";
import type { Kube } from "./client.ts";
import { describeApiError } from "./client.ts";
import { managedBy } from "../labels.ts";
import { serverSideApply } from "./raw-apply.ts";

/** Kinds without a namespace; everything else is applied into the check's namespace. */
const clusterScoped = new Set([
  "Namespace",
  "PersistentVolume",
  "StorageClass",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "PriorityClass",
  "CSIDriver",
  "VolumeSnapshotClass",
]);

export function isClusterScoped(kind: string): boolean {
  return clusterScoped.has(kind);
}

/** Install order, as Helm uses it: what others depend on comes first. */
const installOrder = [
  "Namespace",
  "StorageClass",
  "PersistentVolume",
  "ServiceAccount",
  "Secret",
  "ConfigMap",
  "PersistentVolumeClaim",
  "ClusterRole",
  "ClusterRoleBinding",
  "Role",
  "RoleBinding",
  "Service",
];

export function inInstallOrder<T extends { object: { kind: string } }>(objects: T[]): T[] {
  const rank = (kind: string) => (installOrder.includes(kind) ? installOrder.indexOf(kind) : installOrder.length);
  return [...objects].sort((a, b) => rank(a.object.kind) - rank(b.object.kind));
}

/**
 * A copy of a manifest object as the suite applies it: in `namespace` (unless
 * the kind has none) and labelled as ours.
 */
export function placedIn(object: KubernetesObject, namespace: string): KubernetesObject {
  const body = structuredClone(object);
  body.metadata = { ...body.metadata, labels: { ...(object.metadata?.labels ?? {}), ...managedBy } };
  if (!isClusterScoped(object.kind!)) body.metadata.namespace = namespace;
  return body;
}

/**
 * An object to apply and where it was written, for the error when the API
 * server rejects it. manifests/' LoadedObject is one; kube/ sits below
 * manifests/ and does not import it.
 */
interface SourcedObject {
  object: KubernetesObject & { kind: string; metadata: { name: string } };
  file: string;
  line: number;
}

/**
 * Server-side applies manifest objects into `namespace` (overriding any
 * namespace they name, so checks never touch each other), labelled as ours.
 * An object the API server rejects (its schema, strictly: unknown fields
 * too) fails with its file and line.
 */
export async function applyObjects(kube: Kube, namespace: string, objects: SourcedObject[]): Promise<void> {
  for (const { object, file, line } of inInstallOrder(objects)) {
    try {
      await serverSideApply(kube, placedIn(object, namespace));
    } catch (error) {
      throw new Error(`applying ${object.kind}/${object.metadata.name} from ${file}:${line} failed: ${describeApiError(error)}`);
    }
  }
}
