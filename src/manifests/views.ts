/**
 * Typed views of the manifests: each object narrowed by its kind once, here,
 * to client-node's API type (V1Deployment, V1StatefulSet,
 * V1PersistentVolumeClaim), so that the rules and the workload read typed
 * fields instead of casting. The objects are as written, not validated: a
 * field of the wrong type is the schema check's finding, and code that could
 * crash on one still checks it.
 */
import type { V1Deployment, V1PersistentVolumeClaim, V1PersistentVolumeClaimSpec, V1PodSpec, V1StatefulSet } from "@kubernetes/client-node";
import type { LoadedObject } from "./load.ts";

/** A field's path in its object (["spec", "replicas"]), as LoadedObject.lineOf takes it. */
export type FieldPath = readonly (string | number)[];

/** Where something was written: its file, its line, and the line of any field under it. */
export type Written = Pick<LoadedObject, "file" | "line" | "lineOf">;

/** A Deployment or StatefulSet of the manifests, as its API type. */
export type WorkloadView = {
  name: string;
  source: LoadedObject;
  /** Its pod template's spec (spec.template.spec), when it has one. */
  pod?: V1PodSpec;
} & ({ kind: "Deployment"; object: V1Deployment } | { kind: "StatefulSet"; object: V1StatefulSet });

/** Where a workload's pod spec is in it: the root of every container and volume path. */
export const podSpecPath = ["spec", "template", "spec"] as const;

export function workloadView(source: LoadedObject): WorkloadView | undefined {
  const { object } = source;
  const name = object.metadata.name;
  if (object.kind === "Deployment") {
    const deployment = object as V1Deployment;
    return { kind: "Deployment", name, source, object: deployment, pod: deployment.spec?.template?.spec };
  }
  if (object.kind === "StatefulSet") {
    const statefulSet = object as V1StatefulSet;
    return { kind: "StatefulSet", name, source, object: statefulSet, pod: statefulSet.spec?.template?.spec };
  }
  return undefined;
}

/** Every Deployment and StatefulSet of the manifests, in their order. */
export function workloadViews(objects: readonly LoadedObject[]): WorkloadView[] {
  return objects.flatMap((o) => workloadView(o) ?? []);
}

/**
 * A claim the manifests make: a PersistentVolumeClaim, or a StatefulSet's
 * volumeClaimTemplate (Kubernetes makes a claim of it for each pod), checked
 * like any claim and found at the template's own lines.
 */
export interface ClaimView {
  name: string;
  /** The claim's spec ({} when it has none). */
  spec: V1PersistentVolumeClaimSpec;
  /** The claim's own lines: for a template, the StatefulSet's lines under spec.volumeClaimTemplates[i]. */
  at: Written;
  /** Set on a volumeClaimTemplate: its StatefulSet ("StatefulSet/mysql"). */
  templateOf?: string;
}

/** The PersistentVolumeClaims, then the StatefulSets' volumeClaimTemplates (those with a name). */
export function claimViews(objects: readonly LoadedObject[]): ClaimView[] {
  const claims = objects.flatMap((o): ClaimView[] => {
    if (o.object.kind !== "PersistentVolumeClaim") return [];
    return [{ name: o.object.metadata.name, spec: (o.object as V1PersistentVolumeClaim).spec ?? {}, at: o }];
  });
  return [...claims, ...workloadViews(objects).flatMap(templateClaims)];
}

function templateClaims(workload: WorkloadView): ClaimView[] {
  if (workload.kind !== "StatefulSet") return [];
  const templates: unknown = workload.object.spec?.volumeClaimTemplates;
  if (!Array.isArray(templates)) return [];
  const sts = workload.source;
  return templates.flatMap((template: V1PersistentVolumeClaim | null, i): ClaimView[] => {
    const name: unknown = template?.metadata?.name;
    if (typeof name !== "string") return [];
    const prefix = ["spec", "volumeClaimTemplates", i];
    return [
      {
        name,
        spec: template?.spec ?? {},
        at: { file: sts.file, line: sts.lineOf(prefix), lineOf: (path) => sts.lineOf([...prefix, ...path]) },
        templateOf: `StatefulSet/${workload.name}`,
      },
    ];
  });
}

/** The volumeClaimTemplate of a StatefulSet named `name`, if any. */
export function claimTemplateNamed(workload: WorkloadView, name: string): V1PersistentVolumeClaim | undefined {
  if (workload.kind !== "StatefulSet") return undefined;
  const templates: unknown = workload.object.spec?.volumeClaimTemplates;
  return Array.isArray(templates) ? templates.find((t: V1PersistentVolumeClaim | null) => t?.metadata?.name === name) : undefined;
}
