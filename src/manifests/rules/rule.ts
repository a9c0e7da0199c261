/**
 * What a static rule is and what it reads: the typed views of the manifests,
 * built once for all the rules (rules.ts), and the paths and labels their
 * findings share.
 */
import type { LoadedObject } from "../load.ts";
import type { ClaimView, FieldPath, Written } from "../views.ts";
import { podSpecPath } from "../views.ts";
import type { DatabaseWorkload } from "../workload.ts";

export type Severity = "error" | "warning" | "info";

export interface RuleOptions {
  /** Where MySQL keeps its data (default /var/lib/mysql). */
  dataDir: string;
  /** The smallest acceptable claim, as a quantity (default 1Gi). */
  minStorage: string;
  /**
   * The cluster's StorageClasses, when a live run knows them: the rules that
   * judge what the data claim's class can do read them; static mode has none.
   */
  classes?: KnownClass[];
}

/** A StorageClass as a live cluster has it, in what the design asks of its storage. */
export interface KnownClass {
  name: string;
  provisioner: string;
  /** Annotated storageclass.kubernetes.io/is-default-class: a claim that names no class gets it. */
  isDefault: boolean;
  allowVolumeExpansion: boolean;
  /** The cluster serves the snapshot API and has a VolumeSnapshotClass for the provisioner. */
  snapshots: boolean;
}

/** One thing a rule found: where (an object and a field's path in it), and what. */
export interface Hit {
  at: Written;
  path: FieldPath;
  message: string;
  /** The rule's own, unless the hit says otherwise. */
  severity?: Severity;
  fix?: string;
}

export interface Rule {
  id: string;
  severity: Severity;
  /** One line: what the rule protects. */
  explanation: string;
  fix: string;
  check(context: RuleContext): Hit[];
}

/** The manifests as the rules read them. */
export interface RuleContext {
  objects: LoadedObject[];
  workload?: DatabaseWorkload;
  /** Every claim by name: the PersistentVolumeClaims and the StatefulSets' volumeClaimTemplates. */
  claims: Map<string, ClaimView>;
  /** The names of the manifests' Secrets. */
  secrets: Set<string>;
  options: RuleOptions;
}

/** The path of the database container in its workload (spec.template.spec.containers[i]). */
export function containerPath(w: DatabaseWorkload): FieldPath {
  const index = w.view.pod?.containers?.findIndex((c) => c.name === w.container.name) ?? -1;
  return [...podSpecPath, "containers", index];
}

/** The claim the database keeps its data on, when the manifests make it. */
export function dataClaim(c: RuleContext): ClaimView | undefined {
  return c.workload?.claimName ? c.claims.get(c.workload.claimName) : undefined;
}

/** The claim's access modes that are strings (a wrong type is the schema check's finding). */
export function accessModes(claim: ClaimView): string[] {
  const modes: unknown = claim.spec.accessModes;
  return Array.isArray(modes) ? modes.filter((m): m is string => typeof m === "string") : [];
}

/** The claim can be mounted by one node (ReadWriteOnce) or one pod (ReadWriteOncePod) only. */
export const singleWriter = (claim: ClaimView | undefined): boolean =>
  !!claim && accessModes(claim).some((m) => m === "ReadWriteOnce" || m === "ReadWriteOncePod");

/** "PersistentVolumeClaim mysql-pvc", or "volumeClaimTemplate data of StatefulSet/mysql". */
export const claimLabel = (claim: ClaimView): string =>
  claim.templateOf ? `volumeClaimTemplate ${claim.name} of ${claim.templateOf}` : `PersistentVolumeClaim ${claim.name}`;

/** "mysql-pvc", or "data (volumeClaimTemplate of StatefulSet/mysql)". */
export const claimName = (claim: ClaimView): string => (claim.templateOf ? `${claim.name} (volumeClaimTemplate of ${claim.templateOf})` : claim.name);
