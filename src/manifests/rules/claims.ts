/** The claims: the ones the workload names exist, request enough storage, have one writer, and a StorageClass that provisions them. */
import { parseQuantity } from "../quantity.ts";
import type { FieldPath } from "../views.ts";
import { podSpecPath } from "../views.ts";
import type { DatabaseWorkload } from "../workload.ts";
import { accessModes, claimLabel, claimName, dataClaim, type Rule } from "./rule.ts";

/** The claims the workload's pod volumes name, with the path of each claimName. */
function claimsUsedBy(w: DatabaseWorkload): { name: string; path: FieldPath }[] {
  return (w.view.pod?.volumes ?? []).flatMap((v, i) =>
    v.persistentVolumeClaim ? [{ name: v.persistentVolumeClaim.claimName, path: [...podSpecPath, "volumes", i, "persistentVolumeClaim", "claimName"] }] : [],
  );
}

export const claimExists: Rule = {
  id: "claim-exists",
  severity: "error",
  explanation: "a pod whose claim does not exist is never scheduled",
  fix: "name the PersistentVolumeClaim the manifests define, or add it",
  check: (c) => {
    const w = c.workload;
    if (!w) return [];
    return claimsUsedBy(w)
      .filter((u) => !c.claims.has(u.name))
      .map((u) => ({
        at: w.source,
        path: u.path,
        message: `claimName "${u.name}" names no PersistentVolumeClaim in these manifests (claims: ${[...c.claims.keys()].join(", ") || "none"})`,
      }));
  },
};

export const claimRequestsStorage: Rule = {
  id: "claim-requests-storage",
  severity: "error",
  explanation: "a claim must request storage, and not less than the database needs",
  fix: "set spec.resources.requests.storage (at least the minimum, default 1Gi)",
  check: (c) =>
    [...c.claims.values()].flatMap((claim) => {
      // A quantity as written: a string, or a number when the YAML has one.
      const request: unknown = claim.spec.resources?.requests?.storage;
      if (request === undefined) return [{ at: claim.at, path: ["spec", "resources"], message: `${claimLabel(claim)} requests no storage` }];
      const bytes = parseQuantity(request);
      const minimum = parseQuantity(c.options.minStorage)!;
      const path = ["spec", "resources", "requests", "storage"];
      if (bytes === undefined) return [{ at: claim.at, path, message: `${claimLabel(claim)} requests ${JSON.stringify(request)}, which is not a quantity` }];
      if (bytes < minimum) return [{ at: claim.at, path, message: `${claimLabel(claim)} requests ${request}, less than the minimum ${c.options.minStorage}` }];
      return [];
    }),
};

export const singleWriterAccessMode: Rule = {
  id: "single-writer-access-mode",
  severity: "error",
  explanation:
    "one mysqld owns its data directory; ReadWriteOnce (or ReadWriteOncePod) says so, ReadWriteMany invites a second writer, ReadOnlyMany cannot be written",
  fix: "set accessModes: [ReadWriteOnce] (or ReadWriteOncePod) on the data claim",
  check: (c) => {
    const claim = dataClaim(c);
    if (!claim) return [];
    const modes = accessModes(claim);
    const path = ["spec", "accessModes"];
    if (modes.length === 0) return [{ at: claim.at, path: ["spec"], message: `${claimLabel(claim)} declares no accessModes` }];
    if (modes.includes("ReadOnlyMany") && !modes.some((m) => m.startsWith("ReadWrite"))) {
      return [{ at: claim.at, path, message: `data claim ${claimName(claim)} is ReadOnlyMany: mysqld cannot write it` }];
    }
    if (modes.includes("ReadWriteMany")) {
      return [
        {
          at: claim.at,
          path,
          severity: "warning",
          message: `data claim ${claimName(claim)} is ReadWriteMany: nothing stops a second pod from opening the same InnoDB files`,
        },
      ];
    }
    return [];
  },
};

export const storageClass: Rule = {
  id: "storage-class",
  severity: "info",
  explanation: 'which StorageClass provisions the data; checked to exist when a cluster is at hand. storageClassName: "" turns dynamic provisioning off',
  fix: "name the class the cluster provides (or none, for its default class)",
  check: (c) => {
    const claim = dataClaim(c);
    if (!claim) return [];
    // YAML's `storageClassName: null` reads as null, which is no class, as when it is absent.
    const name: string | null | undefined = claim.spec.storageClassName;
    const path = ["spec", "storageClassName"];
    if (name === "") {
      return [
        {
          at: claim.at,
          path,
          severity: "error",
          message: `data claim ${claimName(claim)} sets storageClassName: "", which turns dynamic provisioning off: it binds only to a PersistentVolume made by hand, so the design's Automatic Provisioning cannot happen`,
          fix: "remove storageClassName (the cluster's default class provisions the claim) or name a StorageClass",
        },
      ];
    }
    return [
      {
        at: claim.at,
        path,
        message:
          name === undefined || name === null
            ? `data claim ${claimName(claim)} names no StorageClass: the cluster's default class provisions it`
            : `data claim ${claimName(claim)} uses StorageClass "${name}"`,
      },
    ];
  },
};

/** The design's words the class is judged against (its sections in parentheses). */
const snapshotWords = '"Volume Snapshots: Weekly filesystem-level backups" (Backup Strategy: Automated Backups)';
const autoScalingWords = '"Capacity Auto-scaling: Dynamic storage expansion based on usage" (Future Enhancements)';

export const classCapabilities: Rule = {
  id: "class-capabilities",
  severity: "warning",
  explanation:
    "what the data claim's StorageClass can do, as the live cluster has it, against the design's volume snapshots and capacity auto-scaling (judged only when a run knows the cluster's classes)",
  fix: "use a class whose driver can do it: a VolumeSnapshotClass for its driver (snapshots) and allowVolumeExpansion: true (expansion); on the embedded cluster, --storage-class conformance-csi",
  check: (c) => {
    const claim = dataClaim(c);
    const classes = c.options.classes;
    if (!claim || !classes) return [];
    const named: string | null | undefined = claim.spec.storageClassName;
    if (named === "") return []; // storage-class's error: no provisioning at all
    const known = typeof named === "string" ? classes.find((k) => k.name === named) : classes.find((k) => k.isDefault);
    if (!known) return []; // a class the cluster lacks is the live binding check's failure
    const lacks: string[] = [];
    if (!known.snapshots) lacks.push(`it has no VolumeSnapshotClass for its driver ${known.provisioner}, so the design's ${snapshotWords} cannot be taken`);
    if (!known.allowVolumeExpansion)
      lacks.push(`it allows no volume expansion (allowVolumeExpansion is not true), so the design's planned ${autoScalingWords} cannot happen on it`);
    if (lacks.length === 0) return [];
    const which = typeof named === "string" ? `StorageClass "${known.name}"` : `the cluster's default StorageClass "${known.name}"`;
    return [
      {
        at: claim.at,
        path: ["spec", "storageClassName"],
        message: `data claim ${claimName(claim)} is provisioned by ${which} (${known.provisioner}) on this cluster: ${lacks.join("; and ")}`,
      },
    ];
  },
};
