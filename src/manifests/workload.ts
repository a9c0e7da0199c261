/**
 * The database workload as the manifests declare it: which Deployment or
 * StatefulSet runs MySQL, what it mounts at the data directory, where its
 * root password comes from, a --datadir in its arguments. Manifest
 * interpretation only, no cluster: the static rules (rules.ts) judge it and
 * the live checks (conformance/) deploy and act on it.
 */
import type { V1Container, V1Volume } from "@kubernetes/client-node";
import type { LoadedObject } from "./load.ts";
import { claimTemplateNamed, type WorkloadView, workloadView, workloadViews } from "./views.ts";

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

/**
 * The volume a mount names: one of the pod's volumes, else (StatefulSet) a
 * volumeClaimTemplate, which Kubernetes turns into a claim per pod.
 */
function volumeNamed(workload: WorkloadView, name: string): { volume: V1Volume; template: boolean } | undefined {
  const volume = workload.pod?.volumes?.find((v) => v.name === name);
  if (volume) return { volume, template: false };
  return claimTemplateNamed(workload, name) ? { volume: { name, persistentVolumeClaim: { claimName: name } }, template: true } : undefined;
}

/** The database workload as the manifests declare it: what the live checks act on. */
export interface DatabaseWorkload {
  kind: WorkloadView["kind"];
  name: string;
  source: LoadedObject;
  /** The Deployment or StatefulSet as its API type. */
  view: WorkloadView;
  container: V1Container;
  /** Labels that select its pods. */
  selector: Record<string, string>;
  /** The volume mounted at the data directory, if any. */
  dataMount?: { volume: V1Volume; mountPath: string; readOnly: boolean };
  /** The claim the data volume names, when it is a PVC (for a StatefulSet, possibly a volumeClaimTemplate's name). */
  claimName?: string;
  /** The data claim is a StatefulSet volumeClaimTemplate: each pod gets `<template>-<statefulset>-<ordinal>`. */
  claimFromTemplate?: boolean;
  /** Every claim the container mounts, at any path. */
  mountedClaims: string[];
}

/**
 * Finds the workload whose container runs MySQL: the one mounting the data
 * directory, else the one whose image looks like MySQL or MariaDB.
 */
export function findDatabaseWorkload(objects: LoadedObject[], dataDir = dataDirInUse): DatabaseWorkload | undefined {
  const candidates: DatabaseWorkload[] = [];
  for (const view of workloadViews(objects)) {
    for (const container of view.pod?.containers ?? []) {
      const mount = container.volumeMounts?.find((m) => typeof m.mountPath === "string" && m.mountPath.replace(/\/$/, "") === dataDir);
      const looksLikeMysql = /mysql|mariadb|percona/i.test(container.image ?? "");
      if (!mount && !looksLikeMysql) continue;
      const named = mount ? volumeNamed(view, mount.name) : undefined;
      const volume = named?.volume;
      candidates.push({
        kind: view.kind,
        name: view.name,
        source: view.source,
        view,
        container,
        selector: view.object.spec?.selector?.matchLabels ?? {},
        dataMount: mount && volume ? { volume, mountPath: mount.mountPath, readOnly: !!(mount.readOnly || volume.persistentVolumeClaim?.readOnly) } : undefined,
        claimName: volume?.persistentVolumeClaim?.claimName,
        ...(named?.template ? { claimFromTemplate: true } : {}),
        mountedClaims: (container.volumeMounts ?? []).flatMap((m) => {
          const found = volumeNamed(view, m.name);
          const claim = found?.volume.persistentVolumeClaim?.claimName;
          // A template's claim, as Kubernetes names it for the first pod.
          return claim ? [found.template ? `${claim}-${view.name}-0` : claim] : [];
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
  const ref = variable.valueFrom?.secretKeyRef;
  // A reference without a name never gets past the API server (its name is required there).
  if (ref) return { secret: ref.name ?? "", key: ref.key };
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

export function datadirArgument(container: V1Container): DatadirArgument | undefined {
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
    const copy = { ...loaded, object: structuredClone(loaded.object) };
    for (const container of workloadView(copy)?.pod?.containers ?? []) {
      if (container.name === workload.container.name) container.image = image;
    }
    return copy;
  });
}

/** The labels of the workload's pods (its pod template's), which Services and NetworkPolicies select. */
export function podLabels(workload: DatabaseWorkload): Record<string, string> {
  return workload.view.object.spec?.template?.metadata?.labels ?? {};
}

/** MySQL's port on the container: 3306 and its name when the container declares it (else its first port, else 3306). */
export function databasePort(workload: DatabaseWorkload): { number: number; name?: string } {
  const ports = workload.container.ports ?? [];
  const port = ports.find((p) => p.containerPort === 3306) ?? ports[0];
  return port ? { number: port.containerPort, ...(port.name ? { name: port.name } : {}) } : { number: 3306 };
}
