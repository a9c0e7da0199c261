import { createHash } from "node:crypto";
import { createWriteStream, readFileSync } from "node:fs";
import { BatchV1Api, type V1CronJob, type V1Job, type V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import { describeApiError } from "../kube/client.ts";
import { collectDiagnostics, describePod } from "../kube/diagnostics.ts";
import { waitFor } from "../kube/wait.ts";
import { podDeadEnd } from "../kube/waits.ts";
import { withClaimPod } from "../kube/claim-pod.ts";
import { execInPod } from "../kube/exec.ts";
import type { LoadedObject } from "../manifests/load.ts";
import { pollIntervals, timeouts } from "../timeouts.ts";
import { secondsSince } from "../clock.ts";
import { nameOf } from "../kube/names.ts";

/**
 * The design's "daily mysqldump exports" as the cluster runs them: a CronJob
 * in the manifests. A check cannot wait for 02:00, so it runs the CronJob
 * once now, as `kubectl create job NAME --from=cronjob/CRONJOB` does, and
 * waits for that Job to complete.
 */

/** kubectl's annotation on a Job made by hand from a CronJob (the CronJob controller never sets it). */
export const manualInstantiateAnnotation = "cronjob.kubernetes.io/instantiate";

/** The CronJobs the manifests declare. */
export function cronJobsIn(objects: LoadedObject[]): LoadedObject[] {
  return objects.filter((o) => o.object.kind === "CronJob" && o.object.apiVersion === "batch/v1");
}

/** A Job name for a manual run: `<cronjob>-manual-<unix seconds>`, within the 63 characters a Job's name may have. */
export function manualJobName(cronJob: string, at: Date): string {
  const suffix = `-manual-${Math.floor(at.getTime() / 1000)}`;
  return `${cronJob.slice(0, 63 - suffix.length).replace(/[-.]+$/, "")}${suffix}`;
}

/**
 * The Job `kubectl create job NAME --from=cronjob/...` creates (kubectl's
 * createJobFromCronJob): the CronJob's jobTemplate spec as is, its labels,
 * its annotations over `cronjob.kubernetes.io/instantiate: manual`, and the
 * CronJob as controlling owner, so deleting the CronJob deletes the Job.
 * `cronJob` is the live object: the owner reference needs its uid.
 */
export function jobFromCronJob(cronJob: V1CronJob, name: string): V1Job {
  const template = cronJob.spec?.jobTemplate;
  if (!template?.spec) throw new Error(`CronJob ${cronJob.metadata?.name} has no spec.jobTemplate.spec`);
  if (!cronJob.metadata?.uid) throw new Error(`CronJob ${cronJob.metadata?.name} has no uid: read it from the API server before making a Job of it`);
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      ...(cronJob.metadata.namespace ? { namespace: cronJob.metadata.namespace } : {}),
      annotations: { [manualInstantiateAnnotation]: "manual", ...template.metadata?.annotations },
      ...(template.metadata?.labels ? { labels: { ...template.metadata.labels } } : {}),
      ownerReferences: [
        { apiVersion: "batch/v1", kind: "CronJob", name: cronJob.metadata.name!, uid: cronJob.metadata.uid, controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: structuredClone(template.spec),
  };
}

/** What a Job says of itself: done, failed (and why), or still going. */
export function jobOutcome(job: V1Job): { state: "complete" } | { state: "failed"; reason: string } | { state: "running"; describe: string } {
  const condition = (type: string) => job.status?.conditions?.find((c) => c.type === type && c.status === "True");
  if (condition("Complete")) return { state: "complete" };
  const failed = condition("Failed");
  if (failed) return { state: "failed", reason: `${failed.reason ?? "Failed"}: ${failed.message ?? "no message"}` };
  return { state: "running", describe: `active ${job.status?.active ?? 0}, succeeded ${job.status?.succeeded ?? 0}, failed ${job.status?.failed ?? 0}` };
}

/** The pods of a Job (the job controller labels them with the Job's name). */
async function podsOfJob(kube: Kube, namespace: string, job: string): Promise<V1Pod[]> {
  return (await kube.core.listNamespacedPod({ namespace, labelSelector: `batch.kubernetes.io/job-name=${job}` })).items;
}

/**
 * Named wait: the Job completes. A Failed condition (backoffLimit reached,
 * activeDeadlineSeconds passed) or a pod that can never start (image not
 * pullable, claim missing) ends it early; the message carries the pods'
 * states, the namespace's events and the container logs.
 */
export async function waitForJobComplete(kube: Kube, batch: BatchV1Api, namespace: string, name: string, timeoutMs: number): Promise<V1Job> {
  const state = await waitFor(
    async () => {
      const job = await batch.readNamespacedJob({ name, namespace });
      const pods = await podsOfJob(kube, namespace, name);
      return { job, pods };
    },
    (s) => jobOutcome(s.job).state === "complete",
    {
      what: `Job ${name} (from the backup CronJob) to complete`,
      signal: kube.signal,
      timeoutMs,
      intervalMs: pollIntervals.slowMs,
      deadEnd: (s) => {
        const outcome = jobOutcome(s.job);
        if (outcome.state === "failed") return `Job ${name} failed: ${outcome.reason}`;
        for (const pod of s.pods) {
          const reason = podDeadEnd({ pod, missingClaims: [] });
          if (reason) return `pod ${pod.metadata?.name} of Job ${name} cannot run: ${reason}`;
        }
        return undefined;
      },
      describe: (s) => {
        const outcome = jobOutcome(s.job);
        const pods = s.pods.map(describePod).join("\n  ") || "no pod yet";
        return `${outcome.state === "running" ? outcome.describe : outcome.state}; ${pods}`;
      },
      diagnose: async () => (await collectDiagnostics(kube, namespace)).summary,
    },
  );
  return state.job;
}

export interface ScheduledBackupRun {
  cronJob: string;
  job: string;
  /** From the Job's creation to its Complete condition as seen here. */
  duration_s: number;
  pod?: string;
  /** The backup container's log (the fixture's script prints the file, its size and sha256). */
  log: string;
}

/**
 * Runs the CronJob `name` (default: the manifests' only one) once now and
 * waits for it, within timeouts.backupJobMs. Fails when the manifests hold no
 * CronJob, or several and none is named.
 */
export async function runScheduledBackupNow(kube: Kube, namespace: string, objects: LoadedObject[], name?: string): Promise<ScheduledBackupRun> {
  const declared = cronJobsIn(objects).map((o) => o.object.metadata.name);
  if (declared.length === 0) throw new Error("the manifests hold no CronJob: the design's automated daily backups are not in the manifests");
  const cronJobName = name ?? (declared.length === 1 ? declared[0]! : undefined);
  if (!cronJobName) throw new Error(`the manifests hold several CronJobs (${declared.join(", ")}): name the backup one`);
  if (!declared.includes(cronJobName)) throw new Error(`the manifests hold no CronJob ${cronJobName} (CronJobs: ${declared.join(", ")})`);

  const batch = kube.config.makeApiClient(BatchV1Api);
  const cronJob = await batch.readNamespacedCronJob({ name: cronJobName, namespace }).catch((error: unknown) => {
    throw new Error(`reading CronJob ${namespace}/${cronJobName} (were the manifests applied?): ${describeApiError(error)}`);
  });
  const job = jobFromCronJob(cronJob, manualJobName(cronJobName, new Date()));
  const started = performance.now();
  await batch.createNamespacedJob({ namespace, body: job }).catch((error: unknown) => {
    throw new Error(`creating Job ${job.metadata!.name} from CronJob ${cronJobName}: ${describeApiError(error)}`);
  });
  await waitForJobComplete(kube, batch, namespace, nameOf(job), timeouts.backupJobMs);
  const duration_s = secondsSince(started);
  const pod = (await podsOfJob(kube, namespace, nameOf(job))).find((p) => p.status?.phase === "Succeeded");
  const container = pod?.spec?.containers[0]?.name;
  const log = pod && container ? await kube.core.readNamespacedPodLog({ name: nameOf(pod), namespace, container }).catch(() => "") : "";
  return { cronJob: cronJobName, job: nameOf(job), duration_s, pod: pod?.metadata?.name, log };
}

/** The dump a run of the fixture's backup script reports: `backup /backups/X.sql: N bytes, sha256 H`. */
export function reportedDump(log: string): { file: string; bytes: number; sha256: string } | undefined {
  const match = /^backup (\/\S+\.sql): (\d+) bytes, sha256 ([0-9a-f]{64})$/m.exec(log);
  return match ? { file: match[1]!, bytes: Number(match[2]), sha256: match[3]! } : undefined;
}

/** The claim the CronJob's pods write their dumps to: the volume mounted where the dump's path begins. */
export function backupClaimOf(cronJob: LoadedObject, dumpPath: string): { claim: string; mountPath: string } | undefined {
  const podSpec = (cronJob.object as unknown as V1CronJob).spec?.jobTemplate.spec?.template.spec;
  for (const container of podSpec?.containers ?? []) {
    for (const mount of container.volumeMounts ?? []) {
      if (!dumpPath.startsWith(mount.mountPath.replace(/\/?$/, "/"))) continue;
      const claim = podSpec?.volumes?.find((v) => v.name === mount.name)?.persistentVolumeClaim?.claimName;
      if (claim) return { claim, mountPath: mount.mountPath };
    }
  }
  return undefined;
}

/**
 * Copies a dump off the backup claim: a pod of `image` (the database's own,
 * already on the node) mounts the claim read-only, and the file is streamed
 * out through exec to `dest`. Resolves with the copy's sha256.
 */
export async function copyDumpFromClaim(
  kube: Kube,
  namespace: string,
  claim: { claim: string; mountPath: string },
  dumpPath: string,
  image: string,
  dest: string,
): Promise<string> {
  return withClaimPod(kube, namespace, { purpose: "backup-reader", image, ...claim, readOnly: true }, async (pod) => {
    const out = createWriteStream(dest);
    const result = await execInPod(kube, { namespace, pod, container: "helper" }, ["cat", dumpPath], { stdout: out, timeoutMs: timeouts.execMs });
    await new Promise((resolve) => out.end(resolve));
    if (result.exitCode !== 0) throw new Error(`reading ${dumpPath} on claim ${claim.claim} failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
    return createHash("sha256").update(readFileSync(dest)).digest("hex");
  });
}
