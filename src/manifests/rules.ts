import { isSecretName } from "../redact.ts";
import type { LoadedObject } from "./load.ts";
import { parseQuantity } from "./quantity.ts";
import { datadirArgument, findDatabaseWorkload, isWithin, type DatabaseWorkload } from "./workload.ts";

export type Severity = "error" | "warning" | "info";

export interface Finding {
  rule: string;
  severity: Severity;
  file: string;
  line: number;
  message: string;
  fix: string;
}

export interface RuleOptions {
  /** Where MySQL keeps its data (default /var/lib/mysql). */
  dataDir: string;
  /** The smallest acceptable claim, as a quantity (default 1Gi). */
  minStorage: string;
}

interface Rule {
  id: string;
  severity: Severity;
  /** One line: what the rule protects. */
  explanation: string;
  fix: string;
  check(context: Context): { at: LoadedObject; path: (string | number)[]; message: string; severity?: Severity; fix?: string }[];
}

interface Context {
  objects: LoadedObject[];
  workload?: DatabaseWorkload;
  claims: Map<string, LoadedObject>;
  options: RuleOptions;
}

const podPath = (_w: DatabaseWorkload) => ["spec", "template", "spec"];
const containerIndex = (w: DatabaseWorkload) =>
  (w.source.object.spec as { template: { spec: { containers: { name: string }[] } } }).template.spec.containers.findIndex((c) => c.name === w.container.name);
const containerPath = (w: DatabaseWorkload) => [...podPath(w), "containers", containerIndex(w)];

function claimsUsedBy(w: DatabaseWorkload): { name: string; path: (string | number)[] }[] {
  const volumes =
    (w.source.object.spec as { template?: { spec?: { volumes?: { persistentVolumeClaim?: { claimName: string } }[] } } }).template?.spec?.volumes ?? [];
  return volumes.flatMap((v, i) =>
    v.persistentVolumeClaim ? [{ name: v.persistentVolumeClaim.claimName, path: [...podPath(w), "volumes", i, "persistentVolumeClaim", "claimName"] }] : [],
  );
}

/**
 * A StatefulSet's volumeClaimTemplates, as the claims Kubernetes makes of
 * them: checked like any claim (size, access mode, class), each finding at
 * the template's own line.
 */
export function templateClaims(objects: LoadedObject[]): LoadedObject[] {
  return objects.flatMap((sts) => {
    if (sts.object.kind !== "StatefulSet") return [];
    const templates = (sts.object.spec as { volumeClaimTemplates?: unknown })?.volumeClaimTemplates;
    if (!Array.isArray(templates)) return [];
    return templates.flatMap((t: { metadata?: { name?: unknown }; spec?: unknown }, i) => {
      if (typeof t?.metadata?.name !== "string") return [];
      const prefix = ["spec", "volumeClaimTemplates", i];
      return [
        {
          object: { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: t.metadata.name }, spec: t.spec ?? {} },
          file: sts.file,
          line: sts.lineOf(prefix),
          lineOf: (path: readonly (string | number)[]) => sts.lineOf([...prefix, ...path]),
          templateOf: `StatefulSet/${sts.object.metadata.name}`,
        },
      ];
    });
  });
}

/** "PersistentVolumeClaim mysql-pvc", or "volumeClaimTemplate data of StatefulSet/mysql". */
const claimLabel = (claim: LoadedObject) =>
  claim.templateOf ? `volumeClaimTemplate ${claim.object.metadata.name} of ${claim.templateOf}` : `PersistentVolumeClaim ${claim.object.metadata.name}`;
/** "mysql-pvc", or "data (volumeClaimTemplate of StatefulSet/mysql)". */
const claimName = (claim: LoadedObject) =>
  claim.templateOf ? `${claim.object.metadata.name} (volumeClaimTemplate of ${claim.templateOf})` : claim.object.metadata.name;

function dataClaim(c: Context): LoadedObject | undefined {
  return c.workload?.claimName ? c.claims.get(c.workload.claimName) : undefined;
}

function accessModes(claim: LoadedObject): string[] {
  const modes = (claim.object.spec as { accessModes?: unknown })?.accessModes;
  return Array.isArray(modes) ? modes.filter((m): m is string => typeof m === "string") : [];
}

const singleWriter = (claim: LoadedObject | undefined) => !!claim && accessModes(claim).some((m) => m === "ReadWriteOnce" || m === "ReadWriteOncePod");

export const rules: Rule[] = [
  {
    id: "database-workload",
    severity: "error",
    explanation: "the manifests must run MySQL: a Deployment or StatefulSet whose container mounts the data directory or runs a MySQL image",
    fix: "add the MySQL Deployment, or point --manifests at the directory that has it",
    check: (c) =>
      c.workload
        ? []
        : [
            {
              at: c.objects[0]!,
              path: [],
              message: `no Deployment or StatefulSet runs MySQL (none mounts ${c.options.dataDir} or runs a mysql/mariadb image)`,
            },
          ],
  },
  {
    id: "data-dir-on-claim",
    severity: "error",
    explanation: "MySQL's data survives a pod only on a PersistentVolumeClaim; emptyDir and the container's filesystem die with the pod",
    fix: "mount a volume with persistentVolumeClaim.claimName at the data directory",
    check: (c) => {
      const w = c.workload;
      if (!w) return [];
      if (!w.dataMount) {
        return [
          {
            at: w.source,
            path: [...containerPath(w), "volumeMounts"],
            message: `container ${w.container.name} of ${w.kind}/${w.name} mounts nothing at ${c.options.dataDir}: the data lives in the container's own filesystem and is lost with the pod`,
          },
        ];
      }
      if (w.claimName) return [];
      const kind = Object.keys(w.dataMount.volume).find((k) => k !== "name") ?? "no source";
      const volumes = (w.source.object.spec as { template: { spec: { volumes: { name: string }[] } } }).template.spec.volumes;
      const index = volumes.findIndex((v) => v.name === w.dataMount!.volume.name);
      return [
        {
          at: w.source,
          path: [...podPath(w), "volumes", index],
          message: `${c.options.dataDir} of ${w.kind}/${w.name} is on volume "${w.dataMount.volume.name}" (${kind}), not a PersistentVolumeClaim: the data is lost when the pod goes`,
        },
      ];
    },
  },
  {
    id: "datadir-argument-on-claim",
    severity: "error",
    explanation:
      "the mysql image's entrypoint initialises and serves the data directory mysqld is given; a --datadir outside the claim puts the data in the container's filesystem",
    fix: "drop --datadir from the container's arguments, or mount the claim at the directory it names",
    check: (c) => {
      const w = c.workload;
      const moved = w ? datadirArgument(w.container) : undefined;
      if (!w || !moved) return [];
      const mountPath = w.dataMount?.mountPath ?? c.options.dataDir;
      if (w.dataMount && isWithin(moved.value, mountPath)) return [];
      const onClaim = w.claimName ? `claim ${w.claimName} mounted at ${mountPath}` : `${mountPath}`;
      return [
        {
          at: w.source,
          path: [...containerPath(w), moved.field, moved.index],
          message: `container ${w.container.name} of ${w.kind}/${w.name} runs mysqld with --datadir=${moved.value}, outside the ${onClaim}: MySQL initialises and writes its data in the container's filesystem and loses it with the pod`,
        },
      ];
    },
  },
  {
    id: "data-dir-writable",
    severity: "error",
    explanation: "mysqld must write its data directory",
    fix: "remove readOnly from the data volume mount and its persistentVolumeClaim",
    check: (c) => {
      const w = c.workload;
      if (!w?.dataMount?.readOnly) return [];
      return [
        {
          at: w.source,
          path: [...containerPath(w), "volumeMounts"],
          message: `${c.options.dataDir} of ${w.kind}/${w.name} is mounted read-only: mysqld cannot start`,
        },
      ];
    },
  },
  {
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
  },
  {
    id: "claim-requests-storage",
    severity: "error",
    explanation: "a claim must request storage, and not less than the database needs",
    fix: "set spec.resources.requests.storage (at least the minimum, default 1Gi)",
    check: (c) =>
      [...c.claims.values()].flatMap((claim) => {
        const request = (claim.object.spec as { resources?: { requests?: { storage?: string } } })?.resources?.requests?.storage;
        if (request === undefined) return [{ at: claim, path: ["spec", "resources"], message: `${claimLabel(claim)} requests no storage` }];
        const bytes = parseQuantity(request);
        const minimum = parseQuantity(c.options.minStorage)!;
        if (bytes === undefined)
          return [
            {
              at: claim,
              path: ["spec", "resources", "requests", "storage"],
              message: `${claimLabel(claim)} requests ${JSON.stringify(request)}, which is not a quantity`,
            },
          ];
        if (bytes < minimum)
          return [
            {
              at: claim,
              path: ["spec", "resources", "requests", "storage"],
              message: `${claimLabel(claim)} requests ${request}, less than the minimum ${c.options.minStorage}`,
            },
          ];
        return [];
      }),
  },
  {
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
      if (modes.length === 0) return [{ at: claim, path: ["spec"], message: `${claimLabel(claim)} declares no accessModes` }];
      if (modes.includes("ReadOnlyMany") && !modes.some((m) => m.startsWith("ReadWrite"))) {
        return [{ at: claim, path, message: `data claim ${claimName(claim)} is ReadOnlyMany: mysqld cannot write it` }];
      }
      if (modes.includes("ReadWriteMany")) {
        return [
          {
            at: claim,
            path,
            severity: "warning",
            message: `data claim ${claimName(claim)} is ReadWriteMany: nothing stops a second pod from opening the same InnoDB files`,
          },
        ];
      }
      return [];
    },
  },
  {
    id: "single-replica",
    severity: "error",
    explanation: "replicas of a Deployment share its one claim: two mysqld on one data directory corrupt it",
    fix: "set replicas: 1 (use a StatefulSet with replication for more than one server)",
    check: (c) => {
      const w = c.workload;
      if (w?.kind !== "Deployment" || !w.claimName) return [];
      const replicas = (w.source.object.spec as { replicas?: number }).replicas ?? 1;
      return replicas > 1
        ? [{ at: w.source, path: ["spec", "replicas"], message: `Deployment ${w.name} has replicas: ${replicas} on claim ${w.claimName}` }]
        : [];
    },
  },
  {
    id: "recreate-strategy",
    severity: "error",
    explanation:
      "RollingUpdate starts the new pod before the old one stops, so a second mysqld can open the same data (or hang on the ReadWriteOnce volume); Recreate stops the old one first",
    fix: "set spec.strategy.type: Recreate",
    check: (c) => {
      const w = c.workload;
      if (w?.kind !== "Deployment" || !singleWriter(dataClaim(c))) return [];
      const strategy = (w.source.object.spec as { strategy?: { type?: string } }).strategy?.type ?? "RollingUpdate (the default)";
      return strategy === "Recreate"
        ? []
        : [{ at: w.source, path: ["spec", "strategy"], message: `Deployment ${w.name} updates with ${strategy} on a ReadWriteOnce claim` }];
    },
  },
  {
    id: "credentials-from-secret",
    severity: "error",
    explanation: "credentials in a manifest end up in Git, logs and kubectl output; the design keeps them in a Secret",
    fix: "use valueFrom.secretKeyRef for every password variable",
    check: (c) => {
      const w = c.workload;
      if (!w) return [];
      return (w.container.env ?? []).flatMap((e, i) =>
        isSecretName(e.name) && e.value !== undefined
          ? [
              {
                at: w.source,
                path: [...containerPath(w), "env", i, "value"],
                message: `${e.name} of container ${w.container.name} is a literal value (not shown) instead of a Secret reference`,
              },
            ]
          : [],
      );
    },
  },
  {
    id: "secret-exists",
    severity: "warning",
    explanation: "a pod whose Secret does not exist never starts (CreateContainerConfigError)",
    fix: "add the Secret to the manifests, or make sure it exists where they are applied",
    check: (c) => {
      const w = c.workload;
      if (!w) return [];
      const secrets = new Set(c.objects.filter((o) => o.object.kind === "Secret").map((o) => o.object.metadata.name));
      return (w.container.env ?? []).flatMap((e, i) => {
        const ref = e.valueFrom?.secretKeyRef;
        return ref && (ref.name === undefined || !secrets.has(ref.name))
          ? [
              {
                at: w.source,
                path: [...containerPath(w), "env", i, "valueFrom", "secretKeyRef", "name"],
                message: `${e.name} reads Secret "${ref.name}", which these manifests do not define`,
              },
            ]
          : [];
      });
    },
  },
  {
    id: "readiness-probe",
    severity: "error",
    explanation: "without a readiness probe a pod is Ready before mysqld answers, so recovery time means nothing and Services send traffic too early",
    fix: "add a readinessProbe that asks mysqld (e.g. mysqladmin ping)",
    check: (c) => {
      const w = c.workload;
      if (!w || (w.container as { readinessProbe?: unknown }).readinessProbe) return [];
      return [{ at: w.source, path: containerPath(w), message: `container ${w.container.name} of ${w.kind}/${w.name} has no readinessProbe` }];
    },
  },
  {
    id: "resource-requests",
    severity: "warning",
    explanation: "without requests the scheduler places MySQL anywhere and evicts it first under pressure",
    fix: "set resources.requests.cpu and resources.requests.memory",
    check: (c) => {
      const w = c.workload;
      if (!w) return [];
      const requests = (w.container as { resources?: { requests?: Record<string, string> } }).resources?.requests ?? {};
      const missing = ["cpu", "memory"].filter((r) => !(r in requests));
      return missing.length
        ? [{ at: w.source, path: [...containerPath(w), "resources"], message: `container ${w.container.name} requests no ${missing.join(" or ")}` }]
        : [];
    },
  },
  {
    id: "storage-class",
    severity: "info",
    explanation: 'which StorageClass provisions the data; checked to exist when a cluster is at hand. storageClassName: "" turns dynamic provisioning off',
    fix: "name the class the cluster provides (or none, for its default class)",
    check: (c) => {
      const claim = dataClaim(c);
      if (!claim) return [];
      const name = (claim.object.spec as { storageClassName?: string | null }).storageClassName;
      const path = ["spec", "storageClassName"];
      if (name === "") {
        return [
          {
            at: claim,
            path,
            severity: "error",
            message: `data claim ${claimName(claim)} sets storageClassName: "", which turns dynamic provisioning off: it binds only to a PersistentVolume made by hand, so the design's Automatic Provisioning cannot happen`,
            fix: "remove storageClassName (the cluster's default class provisions the claim) or name a StorageClass",
          },
        ];
      }
      return [
        {
          at: claim,
          path,
          message:
            name === undefined || name === null
              ? `data claim ${claimName(claim)} names no StorageClass: the cluster's default class provisions it`
              : `data claim ${claimName(claim)} uses StorageClass "${name}"`,
        },
      ];
    },
  },
];

export function checkRules(objects: LoadedObject[], options: RuleOptions): Finding[] {
  const claims = new Map(
    [...objects.filter((o) => o.object.kind === "PersistentVolumeClaim"), ...templateClaims(objects)].map((o) => [o.object.metadata.name, o]),
  );
  const context: Context = { objects, workload: findDatabaseWorkload(objects, options.dataDir), claims, options };
  return rules.flatMap((rule) =>
    rule.check(context).map((hit) => ({
      rule: rule.id,
      severity: hit.severity ?? rule.severity,
      file: hit.at.file,
      line: hit.at.lineOf(hit.path),
      message: hit.message,
      fix: hit.fix ?? rule.fix,
    })),
  );
}
