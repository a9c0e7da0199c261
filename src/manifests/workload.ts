/**
 * The database workload as the manifests declare it: which Deployment or
 * StatefulSet runs MySQL, what it mounts at the data directory, where its
 * root password comes from, a --datadir in its arguments. Manifest
 * interpretation only, no cluster: the static rules (rules.ts) judge it and
 * the live checks (conformance/) deploy and act on it.
 */
import type { LoadedObject, ManifestObject } from "./load.ts";

/** Where the design keeps MySQL's data. */
export const defaultDataDir = "/var/lib/mysql";

/**
 * The data directory the workload is found by when none is passed: the
 * design's, or SC_DATA_DIR for other layouts, set once per process from the
 * run's settings (`applyRunSettings`).
 */
let dataDirInUse = defaultDataDir;
export const currentDataDir = (): string => dataDirInUse;
export function useDataDir(dir: string): void {
  dataDirInUse = dir;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Volume {
  name: string;
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  emptyDir?: object;
  hostPath?: object;
}
interface PodSpec {
  containers?: Container[];
  volumes?: Volume[];
}

/**
 * The volume a mount names: one of the pod's volumes, else (StatefulSet) a
 * volumeClaimTemplate, which Kubernetes turns into a claim per pod.
 */
function volumeNamed(object: ManifestObject, spec: PodSpec | undefined, name: string): { volume: Volume; template: boolean } | undefined {
  const volume = spec?.volumes?.find((v) => v.name === name);
  if (volume) return { volume, template: false };
  if (object.kind !== "StatefulSet") return undefined;
  const templates = (object.spec as { volumeClaimTemplates?: { metadata?: { name?: string } }[] } | undefined)?.volumeClaimTemplates;
  const template = Array.isArray(templates) ? templates.find((t) => t?.metadata?.name === name) : undefined;
  return template ? { volume: { name, persistentVolumeClaim: { claimName: name } }, template: true } : undefined;
}

/** The database workload as the manifests declare it: what the live checks act on. */
export interface DatabaseWorkload {
  kind: string;
  name: string;
  source: LoadedObject;
  container: Container;
  /** Labels that select its pods. */
  selector: Record<string, string>;
  /** The volume mounted at the data directory, if any. */
  dataMount?: { volume: Volume; mountPath: string; readOnly: boolean };
  /** The claim the data volume names, when it is a PVC (for a StatefulSet, possibly a volumeClaimTemplate's name). */
  claimName?: string;
  /** The data claim is a StatefulSet volumeClaimTemplate: each pod gets `<template>-<statefulset>-<ordinal>`. */
  claimFromTemplate?: boolean;
  /** Every claim the container mounts, at any path. */
  mountedClaims: string[];
}

const workloadKinds = new Set(["Deployment", "StatefulSet"]);

function podSpecOf(object: ManifestObject): PodSpec | undefined {
  return (object.spec as { template?: { spec?: PodSpec } } | undefined)?.template?.spec;
}

/**
 * Finds the workload whose container runs MySQL: the one mounting the data
 * directory, else the one whose image looks like MySQL or MariaDB.
 */
export function findDatabaseWorkload(objects: LoadedObject[], dataDir = dataDirInUse): DatabaseWorkload | undefined {
  const candidates: DatabaseWorkload[] = [];
  for (const loaded of objects) {
    if (!workloadKinds.has(loaded.object.kind)) continue;
    const spec = podSpecOf(loaded.object);
    for (const container of spec?.containers ?? []) {
      const mount = container.volumeMounts?.find((m) => typeof m.mountPath === "string" && m.mountPath.replace(/\/$/, "") === dataDir);
      const looksLikeMysql = /mysql|mariadb|percona/i.test(container.image ?? "");
      if (!mount && !looksLikeMysql) continue;
      const named = mount ? volumeNamed(loaded.object, spec, mount.name) : undefined;
      const volume = named?.volume;
      const selector = (loaded.object.spec as { selector?: { matchLabels?: Record<string, string> } })?.selector?.matchLabels ?? {};
      candidates.push({
        kind: loaded.object.kind,
        name: loaded.object.metadata.name,
        source: loaded,
        container,
        selector,
        dataMount: mount && volume ? { volume, mountPath: mount.mountPath, readOnly: !!(mount.readOnly || volume.persistentVolumeClaim?.readOnly) } : undefined,
        claimName: volume?.persistentVolumeClaim?.claimName,
        ...(named?.template ? { claimFromTemplate: true } : {}),
        mountedClaims: (container.volumeMounts ?? []).flatMap((m) => {
          const found = volumeNamed(loaded.object, spec, m.name);
          const claim = found?.volume.persistentVolumeClaim?.claimName;
          // A template's claim, as Kubernetes names it for the first pod.
          return claim ? [found.template ? `${claim}-${loaded.object.metadata.name}-0` : claim] : [];
        }),
      });
    }
  }
  return candidates.find((c) => c.dataMount) ?? candidates[0];
}

export type CredentialSource = { secret: string; key: string } | { literal: true } | undefined;

/** Where the workload's MYSQL_ROOT_PASSWORD comes from (never the value itself). */
export function rootPasswordSource(workload: DatabaseWorkload): CredentialSource {
  const variable = workload.container.env?.find((e) => e.name === "MYSQL_ROOT_PASSWORD");
  if (!variable) return undefined;
  if (variable.valueFrom?.secretKeyRef) return { secret: variable.valueFrom.secretKeyRef.name, key: variable.valueFrom.secretKeyRef.key };
  return { literal: true };
}

export function labelSelector(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

/** Where the container's own arguments move mysqld's data directory (`--datadir=X` or `--datadir X`). */
export interface DatadirArgument {
  value: string;
  field: "command" | "args";
  index: number;
}

export function datadirArgument(container: Container): DatadirArgument | undefined {
  for (const field of ["command", "args"] as const) {
    const list = container[field] ?? [];
    for (let index = 0; index < list.length; index++) {
      const arg = list[index];
      if (typeof arg !== "string") continue;
      const joined = /^--datadir=(.+)$/.exec(arg);
      if (joined) return { value: joined[1]!, field, index };
      if (arg === "--datadir" && typeof list[index + 1] === "string") return { value: list[index + 1]!, field, index };
    }
  }
  return undefined;
}

/** Whether `path` is `mountPath` or inside it. */
export function isWithin(path: string, mountPath: string): boolean {
  const base = mountPath.replace(/\/+$/, "");
  const target = path.replace(/\/+$/, "");
  return target === base || target.startsWith(`${base}/`);
}

/**
 * The manifests with the database container's image replaced (the engine
 * matrix runs the same design on another server); the rest is untouched.
 * Returns the objects unchanged when `image` is undefined.
 */
export function withDatabaseImage(objects: LoadedObject[], image: string | undefined, dataDir = dataDirInUse): LoadedObject[] {
  if (!image) return objects;
  const workload = findDatabaseWorkload(objects, dataDir);
  if (!workload) return objects;
  return objects.map((loaded) => {
    if (loaded !== workload.source) return loaded;
    const object = structuredClone(loaded.object);
    for (const container of podSpecOf(object)?.containers ?? []) {
      if (container.name === workload.container.name) container.image = image;
    }
    return { ...loaded, object };
  });
}
