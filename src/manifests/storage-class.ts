import type { LoadedObject, ManifestObject } from "./load.ts";

/** A StorageClass name as Kubernetes accepts it (a DNS subdomain). */
export const validClassName = (name: string): boolean => name.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name);

interface ClaimSpec {
  storageClassName?: string | null;
}

/**
 * The manifests as --storage-class NAME applies them: every claim (and every
 * StatefulSet volumeClaimTemplate) asks for class NAME. Copies; the loaded
 * objects are left as written.
 */
export function withStorageClass(objects: LoadedObject[], name: string): LoadedObject[] {
  return objects.map((loaded) => {
    const { kind } = loaded.object;
    if (kind !== "PersistentVolumeClaim" && kind !== "StatefulSet") return loaded;
    const object = structuredClone(loaded.object) as ManifestObject & { spec?: { volumeClaimTemplates?: { spec?: ClaimSpec }[] } & ClaimSpec };
    if (kind === "PersistentVolumeClaim") object.spec = { ...object.spec, storageClassName: name };
    else for (const template of object.spec?.volumeClaimTemplates ?? []) template.spec = { ...template.spec, storageClassName: name };
    return { ...loaded, object };
  });
}

/**
 * The line every report carries when --storage-class is used: the run
 * proves the design on another class than the manifests name.
 */
export function storageClassDeviation(objects: LoadedObject[], name: string): string {
  const written = new Set<string>();
  for (const { object } of objects) {
    const specs: ClaimSpec[] =
      object.kind === "PersistentVolumeClaim"
        ? [(object.spec ?? {}) as ClaimSpec]
        : object.kind === "StatefulSet"
          ? ((object.spec as { volumeClaimTemplates?: { spec?: ClaimSpec }[] } | undefined)?.volumeClaimTemplates ?? []).map((t) => t.spec ?? {})
          : [];
    for (const spec of specs)
      written.add(spec.storageClassName === undefined || spec.storageClassName === null ? "(the cluster's default)" : `"${spec.storageClassName}"`);
  }
  return `--storage-class ${name}: every claim asks for StorageClass "${name}" instead of the manifests' ${[...written].join(", ") || "(no claim)"} (checked and applied so); the results hold for that class`;
}
