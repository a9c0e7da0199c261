import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import { stringify } from "yaml";
import type { Kube } from "./client.ts";
import { describeApiError } from "./client.ts";
import { nameOf } from "./names.ts";

/** What a failed check carries: a readable summary and the files behind it. */
export interface Diagnostics {
  summary: string;
  files: Record<string, string>;
}

const logTailLines = 80;

/**
 * Collects the namespace's state for a failure: claims, their volumes, pods
 * with container states, events in time order, and container logs (current
 * and previous). Secret values never appear: Secrets are not collected and
 * env values are not printed.
 */
export async function collectDiagnostics(kube: Kube, namespace: string): Promise<Diagnostics> {
  const files: Record<string, string> = {};
  const lines: string[] = [`--- diagnostics for namespace ${namespace} ---`];
  const attempt = async <T>(what: string, f: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await f();
    } catch (error) {
      lines.push(`(${what}: ${describeApiError(error)})`);
      return undefined;
    }
  };

  const claims = (await attempt("listing claims", () => kube.core.listNamespacedPersistentVolumeClaim({ namespace })))?.items ?? [];
  for (const c of claims) {
    lines.push(
      `PVC ${c.metadata?.name}: phase=${c.status?.phase} class=${c.spec?.storageClassName ?? "(default)"} ` +
        `volume=${c.spec?.volumeName || "(none)"} capacity=${c.status?.capacity?.storage ?? "-"}`,
    );
  }
  const volumes = (await attempt("listing volumes", () => kube.core.listPersistentVolume()))?.items ?? [];
  const ours = volumes.filter((v) => v.spec?.claimRef?.namespace === namespace);
  for (const v of ours) {
    lines.push(`PV ${v.metadata?.name}: phase=${v.status?.phase} reclaim=${v.spec?.persistentVolumeReclaimPolicy} claim=${v.spec?.claimRef?.name}`);
  }
  const classes = (await attempt("listing storage classes", () => kube.storage.listStorageClass()))?.items ?? [];
  lines.push(`StorageClasses: ${classes.map((s) => `${s.metadata?.name} (${s.provisioner}, ${s.volumeBindingMode})`).join(", ") || "none"}`);

  const pods = (await attempt("listing pods", () => kube.core.listNamespacedPod({ namespace })))?.items ?? [];
  for (const pod of pods) lines.push(describePod(pod));

  const events = (await attempt("listing events", () => kube.core.listNamespacedEvent({ namespace })))?.items ?? [];
  const sorted = sortEvents(events);
  files["events.txt"] = sorted.map(formatEvent).join("\n");
  lines.push("Events (oldest first):", ...sorted.slice(-25).map((e) => `  ${formatEvent(e)}`));

  for (const pod of pods) {
    for (const container of pod.spec?.containers ?? []) {
      for (const previous of [false, true]) {
        const log = await kube.core
          .readNamespacedPodLog({ name: nameOf(pod), namespace, container: container.name, previous, tailLines: logTailLines })
          .catch(() => undefined);
        if (!log) continue;
        const key = `logs/${pod.metadata!.name}.${container.name}${previous ? ".previous" : ""}.log`;
        files[key] = log;
        lines.push(`--- ${key} (last ${logTailLines} lines) ---`, log.trimEnd());
      }
    }
  }
  files["objects.yaml"] = stringify({
    persistentVolumeClaims: claims.map(strip),
    persistentVolumes: ours.map(strip),
    pods: pods.map(strip),
    storageClasses: classes.map(strip),
  });
  return { summary: lines.join("\n"), files };
}

function strip<T extends { metadata?: { managedFields?: unknown } }>(object: T): T {
  const copy = structuredClone(object);
  if (copy.metadata) delete copy.metadata.managedFields;
  // Env values may hold literal credentials; their names are enough to diagnose.
  for (const c of (copy as unknown as V1Pod).spec?.containers ?? []) {
    for (const e of c.env ?? []) if (e.value !== undefined) e.value = "(redacted)";
  }
  return copy;
}

export function describePod(pod: V1Pod): string {
  const conditions = (pod.status?.conditions ?? []).map((c) => `${c.type}=${c.status}${c.reason ? `(${c.reason})` : ""}`).join(" ");
  const containers = (pod.status?.containerStatuses ?? []).map((s) => {
    const state = s.state?.waiting
      ? `waiting ${s.state.waiting.reason}: ${s.state.waiting.message ?? ""}`
      : s.state?.terminated
        ? `terminated ${s.state.terminated.reason} exit=${s.state.terminated.exitCode}`
        : s.state?.running
          ? "running"
          : "unknown";
    return `${s.name}: ${state} ready=${s.ready} restarts=${s.restartCount} image=${s.image}`;
  });
  return `Pod ${pod.metadata?.name}: phase=${pod.status?.phase} node=${pod.spec?.nodeName ?? "(unscheduled)"} ${conditions}\n    ${containers.join("\n    ")}`;
}

function eventTime(e: CoreV1Event): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

export function sortEvents(events: CoreV1Event[]): CoreV1Event[] {
  return [...events].sort((a, b) => eventTime(a) - eventTime(b));
}

export function formatEvent(e: CoreV1Event): string {
  const when = eventTime(e) ? new Date(eventTime(e)).toISOString() : "?";
  const count = (e.count ?? 1) > 1 ? ` (x${e.count})` : "";
  return `${when} ${e.type} ${e.reason} ${e.involvedObject?.kind}/${e.involvedObject?.name}: ${e.message?.trim()}${count}`;
}
