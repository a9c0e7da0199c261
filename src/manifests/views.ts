/**
 * Typed views of the manifests: each object narrowed by its kind once, here,
 * to client-node's API type (V1Deployment, V1StatefulSet,
 * V1PersistentVolumeClaim), so that the rules and the workload read typed
 * fields instead of casting. The objects are as written, not validated: a
 * field of the wrong type is the schema check's finding, and code that could
 * crash on one still checks it.
 */
import type {
  V1CronJob,
  V1Deployment,
  V1NetworkPolicy,
  V1PersistentVolumeClaim,
  V1PersistentVolumeClaimSpec,
  V1Pod,
  V1PodSpec,
  V1PodTemplateSpec,
  V1Service,
  V1StatefulSet,
} from "@kubernetes/client-node";
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

/**
 * A pod the manifests make, wherever it is written: a Pod, the template of a
 * Deployment, StatefulSet, DaemonSet, ReplicaSet or Job, a CronJob's job
 * template. What the security rules read: every container that could be
 * handed a Secret.
 */
export interface PodTemplateView {
  /** "Deployment/mysql". */
  owner: string;
  source: LoadedObject;
  /** Where the pod's spec is in its object (the root of its container paths). */
  specPath: FieldPath;
  labels: Record<string, string>;
  spec: V1PodSpec;
}

const templatedKinds = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]);

export function podTemplateView(source: LoadedObject): PodTemplateView | undefined {
  const { object } = source;
  const owner = `${object.kind}/${object.metadata.name}`;
  const from = (template: V1PodTemplateSpec | undefined, prefix: FieldPath): PodTemplateView | undefined =>
    template?.spec ? { owner, source, specPath: [...prefix, "spec"], labels: template.metadata?.labels ?? {}, spec: template.spec } : undefined;
  if (object.kind === "Pod") {
    const pod = object as V1Pod;
    return pod.spec ? { owner, source, specPath: ["spec"], labels: pod.metadata?.labels ?? {}, spec: pod.spec } : undefined;
  }
  if (object.kind === "CronJob") return from((object as unknown as V1CronJob).spec?.jobTemplate?.spec?.template, ["spec", "jobTemplate", "spec", "template"]);
  if (templatedKinds.has(object.kind)) return from((object.spec as { template?: V1PodTemplateSpec } | undefined)?.template, ["spec", "template"]);
  return undefined;
}

/** Every pod the manifests make, in their order. */
export function podTemplateViews(objects: readonly LoadedObject[]): PodTemplateView[] {
  return objects.flatMap((o) => podTemplateView(o) ?? []);
}

/** A NetworkPolicy of the manifests, as its API type. */
export interface NetworkPolicyView {
  name: string;
  source: LoadedObject;
  object: V1NetworkPolicy;
}

export function networkPolicyViews(objects: readonly LoadedObject[]): NetworkPolicyView[] {
  return objects.flatMap((o) =>
    o.object.kind === "NetworkPolicy" && o.object.apiVersion === "networking.k8s.io/v1"
      ? [{ name: o.object.metadata.name, source: o, object: o.object as V1NetworkPolicy }]
      : [],
  );
}

/** A Service of the manifests, as its API type. */
export interface ServiceView {
  name: string;
  source: LoadedObject;
  object: V1Service;
}

export function serviceViews(objects: readonly LoadedObject[]): ServiceView[] {
  return objects.flatMap((o) => (o.object.kind === "Service" ? [{ name: o.object.metadata.name, source: o, object: o.object as V1Service }] : []));
}
