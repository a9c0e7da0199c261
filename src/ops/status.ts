import type { V1Pod } from "@kubernetes/client-node";
import { withRootPassword } from "../design/backup.ts";
import type { DeployedSetup } from "../design/deployment.ts";
import { isNotFound } from "../kube/client.ts";
import { execChecked, execInPod } from "../kube/exec.ts";
import { isPodReady } from "../kube/waits.ts";
import { parseQuantity } from "../manifests/quantity.ts";
import { type DiskUsage, parseDf, parseDu, usageAlerts } from "../design/usage.ts";
import { timeouts } from "../timeouts.ts";
import { interpretIoQuery, ioCountersSql, type IoReading } from "./io-rates.ts";
import { nameOf } from "../kube/names.ts";

/** What `storage-status` shows: the design's "monitoring dashboard", read from the cluster. */
export interface StorageStatus {
  namespace: string;
  claim:
    | { name: string; phase: string; requested?: string; capacity?: string; storageClass?: string; accessModes: string[]; volume?: string }
    | { name: string; missing: true };
  volume?: { name: string; reclaimPolicy?: string; path?: string; node?: string };
  storageClass?:
    | { name: string; provisioner: string; reclaimPolicy?: string; volumeBindingMode?: string; allowVolumeExpansion: boolean }
    | { name: string; missing: true };
  pod?: { name: string; phase: string; ready: boolean; node?: string; restarts: number; mountPath?: string; readOnly?: boolean };
  usage?: DiskUsage;
  /** Problems in words; empty when the storage is healthy. */
  problems: string[];
  /** Thresholds crossed, in words (not failures by themselves). */
  warnings: string[];
}

export { parseDf, parseDu, usageThresholds, type DiskUsage } from "../design/usage.ts";

/** Reads the claim, its volume and class, the MySQL pod and the data directory's usage. */
export async function readStorageStatus(setup: DeployedSetup): Promise<StorageStatus> {
  const { kube, namespace } = setup;
  const status: StorageStatus = { namespace, claim: { name: setup.claimName, missing: true }, problems: [], warnings: [] };
  const claim = await kube.core
    .readNamespacedPersistentVolumeClaim({ name: setup.claimName, namespace })
    .catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
  if (!claim) {
    status.problems.push(`PersistentVolumeClaim ${setup.claimName} does not exist in namespace ${namespace}`);
  } else {
    status.claim = {
      name: setup.claimName,
      phase: claim.status?.phase ?? "Unknown",
      requested: claim.spec?.resources?.requests?.storage,
      capacity: claim.status?.capacity?.storage,
      storageClass: claim.spec?.storageClassName ?? undefined,
      accessModes: claim.status?.accessModes ?? claim.spec?.accessModes ?? [],
      volume: claim.spec?.volumeName,
    };
    if (claim.status?.phase !== "Bound") status.problems.push(`claim ${setup.claimName} is ${claim.status?.phase ?? "in no phase"}, not Bound`);
    if (claim.spec?.volumeName) {
      const pv = await kube.core.readPersistentVolume({ name: claim.spec.volumeName }).catch(() => undefined);
      const nodeTerm = pv?.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.find((e) => e.key === "kubernetes.io/hostname");
      if (pv)
        status.volume = {
          name: nameOf(pv),
          reclaimPolicy: pv.spec?.persistentVolumeReclaimPolicy,
          path: pv.spec?.hostPath?.path ?? pv.spec?.local?.path,
          node: nodeTerm?.values?.[0],
        };
      if (pv?.spec?.persistentVolumeReclaimPolicy === "Delete")
        status.warnings.push(`volume ${pv.metadata!.name} has reclaim policy Delete: deleting the claim deletes the data`);
    }
    const className = claim.spec?.storageClassName;
    if (className) {
      const sc = await kube.storage.readStorageClass({ name: className }).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
      status.storageClass = sc
        ? {
            name: className,
            provisioner: sc.provisioner,
            reclaimPolicy: sc.reclaimPolicy,
            volumeBindingMode: sc.volumeBindingMode,
            allowVolumeExpansion: sc.allowVolumeExpansion === true,
          }
        : { name: className, missing: true };
      if (!sc) status.problems.push(`StorageClass ${className} does not exist`);
    }
  }
  const pods = (await kube.core.listNamespacedPod({ namespace, labelSelector: setup.selector })).items.filter((p) => !p.metadata?.deletionTimestamp);
  const pod = pods.find(isPodReady) ?? pods[0];
  if (!pod) {
    status.problems.push(`no pod matches ${setup.selector} in namespace ${namespace}`);
    return status;
  }
  status.pod = describeMysqlPod(setup, pod);
  if (!status.pod.ready) status.problems.push(`pod ${status.pod.name} is ${status.pod.phase} and not Ready`);
  if (status.pod.ready) {
    status.usage = await readUsage(setup, pod, "capacity" in status.claim ? status.claim.capacity : undefined);
    const alerts = usageAlerts(status.usage, status.pod.mountPath);
    status.warnings.push(...alerts.warnings);
    status.problems.push(...alerts.problems);
  }
  return status;
}

function describeMysqlPod(setup: DeployedSetup, pod: V1Pod): NonNullable<StorageStatus["pod"]> {
  const container = setup.mysqlContainerStatus(pod);
  const mount = pod.spec?.containers
    .find((c) => c.name === setup.workload.container.name)
    ?.volumeMounts?.find((m) => m.mountPath === setup.workload.dataMount?.mountPath);
  return {
    name: nameOf(pod),
    phase: pod.status?.phase ?? "Unknown",
    ready: isPodReady(pod),
    node: pod.spec?.nodeName,
    restarts: container?.restartCount ?? 0,
    mountPath: mount?.mountPath,
    readOnly: mount?.readOnly ?? false,
  };
}

async function readUsage(setup: DeployedSetup, pod: V1Pod, capacity: string | undefined): Promise<DiskUsage> {
  const dir = setup.dataDir;
  const target = { namespace: setup.namespace, pod: nameOf(pod), container: setup.workload.container.name };
  const run = (command: string[]) => execChecked(setup.kube, target, command, timeouts.execMs);
  const filesystem = parseDf(await run(["df", "-Pk", dir]));
  const usedBytes = parseDu(await run(["du", "-sk", dir]));
  const claimBytes = parseQuantity(capacity);
  return { usedBytes, claimBytes, percentOfClaim: claimBytes ? +((100 * usedBytes) / claimBytes).toFixed(1) : undefined, filesystem };
}

/**
 * storage-monitor's I/O sample: one mysql client invocation in the MySQL
 * container running both statements of `ioCountersSql`, as root with the
 * container's own password (it never leaves the pod). The SQL sits in sh's
 * double quotes, so its single quotes pass unchanged; it holds no `"`, `$`,
 * backquote or backslash (a unit test keeps it so).
 */
export const ioCountersCommand = withRootPassword(`mysql -uroot --connect-timeout=5 -N -B -e "${ioCountersSql}"`);

/**
 * MySQL's I/O counters from the pod `status` found, or why there are none in
 * a few words: never an error, so the rest of the sample still prints.
 */
export async function readIoSample(setup: DeployedSetup, status: StorageStatus): Promise<IoReading> {
  if (!status.pod) return { unreachable: "no MySQL pod" };
  if (!status.pod.ready) return { unreachable: "pod not Ready" };
  const target = { namespace: setup.namespace, pod: status.pod.name, container: setup.workload.container.name };
  try {
    return interpretIoQuery(await execInPod(setup.kube, target, ioCountersCommand, { timeoutMs: timeouts.mysqlQueryMs }));
  } catch (error) {
    // An API error's message can carry response bodies and headers: its first words are enough here.
    const message = String((error as Error)?.message ?? error).split("\n")[0]!;
    return { unreachable: `exec failed (${message.length > 100 ? `${message.slice(0, 99)}…` : message})` };
  }
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/** The status as lines for a terminal. */
export function formatStatus(s: StorageStatus): string {
  const lines = [`Storage of MySQL in namespace ${s.namespace}`];
  if ("missing" in s.claim) lines.push(`  claim        ${s.claim.name}: missing`);
  else {
    lines.push(
      `  claim        ${s.claim.name}: ${s.claim.phase}, ${s.claim.capacity ?? "no capacity"} (requested ${s.claim.requested ?? "-"}), ${s.claim.accessModes.join(",") || "-"}, class ${s.claim.storageClass ?? "(default)"}`,
    );
  }
  if (s.volume)
    lines.push(
      `  volume       ${s.volume.name}: reclaim ${s.volume.reclaimPolicy ?? "-"}${s.volume.path ? `, ${s.volume.path}` : ""}${s.volume.node ? ` on node ${s.volume.node}` : ""}`,
    );
  if (s.storageClass) {
    lines.push(
      "missing" in s.storageClass
        ? `  class        ${s.storageClass.name}: missing`
        : `  class        ${s.storageClass.name}: ${s.storageClass.provisioner}, reclaim ${s.storageClass.reclaimPolicy ?? "-"}, binding ${s.storageClass.volumeBindingMode ?? "-"}, expansion ${s.storageClass.allowVolumeExpansion ? "allowed" : "not allowed"}`,
    );
  }
  if (s.pod) {
    lines.push(`  pod          ${s.pod.name}: ${s.pod.phase}${s.pod.ready ? ", Ready" : ", not Ready"}, node ${s.pod.node ?? "-"}, ${s.pod.restarts} restarts`);
    lines.push(`  mount        ${s.pod.mountPath ?? "(the data directory is not mounted from a volume)"}${s.pod.readOnly ? " (read-only)" : ""}`);
  }
  if (s.usage) {
    const u = s.usage;
    lines.push(`  usage        ${mib(u.usedBytes)} of MySQL's files${u.claimBytes ? `, ${u.percentOfClaim}% of the claim's ${gib(u.claimBytes)}` : ""}`);
    lines.push(
      `  filesystem   ${gib(u.filesystem.sizeBytes)}, ${u.filesystem.usedPercent}% used, ${gib(u.filesystem.availableBytes)} free${u.claimBytes && u.filesystem.sizeBytes > u.claimBytes * 1.5 ? " (larger than the claim: this provisioner does not enforce the claim's size)" : ""}`,
    );
  }
  for (const w of s.warnings) lines.push(`  warning      ${w}`);
  for (const p of s.problems) lines.push(`  PROBLEM      ${p}`);
  if (s.problems.length === 0) lines.push("  healthy");
  return lines.join("\n");
}
