import type { V1PodTemplateSpec, V1Toleration } from "@kubernetes/client-node";
import type { LoadedObject, ManifestObject } from "./load.ts";

/** Where a check places the database's pods: one node, with the tolerations that node needs. */
export interface Placement {
  /** kubernetes.io/hostname of the node (a nodeSelector: the scheduler still decides, and says why when it cannot). */
  node?: string;
  tolerations?: V1Toleration[];
}

/**
 * The manifests with every Deployment's and StatefulSet's pod template
 * placed as asked. Copies; the loaded objects are left as written.
 */
export function withPlacement(objects: LoadedObject[], placement: Placement): LoadedObject[] {
  return objects.map((loaded) => {
    const { kind } = loaded.object;
    if (kind !== "Deployment" && kind !== "StatefulSet") return loaded;
    const object = structuredClone(loaded.object) as ManifestObject & { spec?: { template?: V1PodTemplateSpec } };
    const spec = object.spec?.template?.spec;
    if (!spec) return loaded;
    if (placement.node) spec.nodeSelector = { ...spec.nodeSelector, "kubernetes.io/hostname": placement.node };
    if (placement.tolerations?.length) spec.tolerations = [...(spec.tolerations ?? []), ...placement.tolerations];
    return { ...loaded, object };
  });
}
