/**
 * Growing the data claim: online, while MySQL serves, until `df` in its pod
 * shows the new size; and on a class that refuses, the API server's answer.
 */
import { PatchStrategy, type V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { secondsSince } from "../clock.ts";
import { parseDf, type FilesystemUsage } from "../design/usage.ts";
import type { DeployedSetup } from "../design/deployment.ts";
import { withClaimPod } from "../kube/claim-pod.ts";
import { describeApiError, type Kube } from "../kube/client.ts";
import { collectDiagnostics } from "../kube/diagnostics.ts";
import { execChecked } from "../kube/exec.ts";
import { nameOf } from "../kube/names.ts";
import { waitFor } from "../kube/wait.ts";
import { waitForClaimBound } from "../kube/waits.ts";
import { parseQuantity } from "../manifests/quantity.ts";
import { pollIntervals, timeouts } from "../timeouts.ts";
import { type ExpansionAnswer, filesystemGrew } from "./storage.ts";

/** Asks the API server for `size` on the claim (what `kubectl patch` does): accepted, or its refusal. */
export async function growClaim(kube: Kube, namespace: string, claim: string, size: string): Promise<ExpansionAnswer> {
  const patch = { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: claim, namespace }, spec: { resources: { requests: { storage: size } } } };
  try {
    await kube.objects.patch(patch, undefined, undefined, undefined, undefined, PatchStrategy.MergePatch);
    return { accepted: true };
  } catch (error) {
    const status = (error as { code?: number }).code;
    if (status === 403 || status === 422) return { accepted: false, status, reason: describeApiError(error).replace(/^HTTP \d+: /, "") };
    throw new Error(`growing claim ${claim} to ${size}: ${describeApiError(error)}`);
  }
}

/**
 * The answer of a class that may refuse expansion: a claim of `className`
 * bound by a pod of `image` (the database's, already on the node), grown to
 * twice its size. The claim stays in the namespace (deleted with it).
 */
export async function probeExpansionOnClass(
  kube: Kube,
  namespace: string,
  className: string,
  image: string,
  size: string,
  doubled: string,
): Promise<ExpansionAnswer> {
  const claim = `expansion-probe-${className}`.slice(0, 60).replace(/[^a-z0-9-]/g, "-");
  await kube.core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: {
      metadata: { name: claim },
      spec: { accessModes: ["ReadWriteOnce"], storageClassName: className, resources: { requests: { storage: size } } },
    },
  });
  // Bound needs a consumer on a WaitForFirstConsumer class (local-path): a pod that mounts it.
  return withClaimPod(kube, namespace, { purpose: "expansion-probe", image, claim, mountPath: "/claim", readOnly: false }, async () => {
    await waitForClaimBound(kube, namespace, claim, timeouts.claimBoundMs);
    return growClaim(kube, namespace, claim, doubled);
  });
}

/** The filesystem under MySQL's data directory, as `df` in its container sees it. */
export async function dataDirFilesystem(setup: DeployedSetup, pod?: string): Promise<FilesystemUsage> {
  const name = pod ?? nameOf(await setup.waitForReadyPod());
  const target = { namespace: setup.namespace, pod: name, container: setup.workload.container.name };
  return parseDf(await execChecked(setup.kube, target, ["df", "-Pk", setup.dataDir], timeouts.execMs));
}

/** An online expansion, from the patch to `df` showing the new size. */
export interface ExpansionFacts {
  requested: string;
  /** Seconds from the patch until the claim's status.capacity showed the new size (the resizer and the kubelet both done). */
  claimCapacity_s?: number;
  /** Seconds until the claim had the condition FileSystemResizePending (the controller's part done, the node's awaited). */
  fileSystemResizePending_s?: number;
  /** Seconds until `df` in MySQL's pod showed the new size. */
  df_s: number;
  dfBeforeBytes: number;
  dfAfterBytes: number;
  /** MySQL's pod before and after, and its container's restarts meanwhile: online means the same pod, 0 restarts. */
  podBefore: string;
  podAfter: string;
  restarts: number;
}

/**
 * Grows the data claim of `setup` to `size` while MySQL runs and waits until
 * `df` in its pod shows it, recording when the controller's part and the
 * node's part were done. Throws a refused patch as an error (the class was
 * chosen because it allows expansion).
 */
export async function expandOnline(setup: DeployedSetup, size: string): Promise<ExpansionFacts> {
  const { kube, namespace } = setup;
  const pod = await setup.waitForReadyPod();
  const podBefore = nameOf(pod);
  const restartsBefore = setup.mysqlContainerStatus(pod)?.restartCount ?? 0;
  const claim = await kube.core.readNamespacedPersistentVolumeClaim({ name: setup.claimName, namespace });
  const requestBefore = parseQuantity(claim.spec?.resources?.requests?.storage) ?? 0;
  const requestAfter = parseQuantity(size) ?? 0;
  const before = await dataDirFilesystem(setup, podBefore);
  const started = performance.now();
  const answer = await growClaim(kube, namespace, setup.claimName, size);
  if (!answer.accepted)
    throw new Error(`the API server refused to grow ${setup.claimName} to ${size} (${answer.reason}), though its class allows volume expansion`);
  const facts: Partial<ExpansionFacts> = {};
  const seen = await waitFor(
    async () => {
      const now: V1PersistentVolumeClaim = await kube.core.readNamespacedPersistentVolumeClaim({ name: setup.claimName, namespace });
      if (facts.fileSystemResizePending_s === undefined && now.status?.conditions?.some((c) => c.type === "FileSystemResizePending"))
        facts.fileSystemResizePending_s = secondsSince(started);
      if (facts.claimCapacity_s === undefined && (parseQuantity(now.status?.capacity?.storage) ?? 0) >= requestAfter)
        facts.claimCapacity_s = secondsSince(started);
      const fs = await dataDirFilesystem(setup, podBefore);
      return {
        fs,
        conditions: (now.status?.conditions ?? []).map((c) => `${c.type}${c.message ? ` (${c.message})` : ""}`),
        capacity: now.status?.capacity?.storage,
      };
    },
    (s) => filesystemGrew(before.sizeBytes, s.fs.sizeBytes, requestBefore, requestAfter),
    {
      what: `df in pod ${podBefore} to show ${setup.dataDir} grown to about ${size}`,
      signal: kube.signal,
      timeoutMs: timeouts.volumeExpansionMs,
      intervalMs: pollIntervals.clusterMs,
      describe: (s) =>
        `df ${(s.fs.sizeBytes / 2 ** 20).toFixed(0)} MiB (${(before.sizeBytes / 2 ** 20).toFixed(0)} MiB before); claim capacity ${s.capacity ?? "unset"}, conditions: ${s.conditions.join(", ") || "none"}; ` +
        "the resizer's log (csi-resizer) and the kubelet's (NodeExpandVolume) say which side is waiting",
      diagnose: async () => (await collectDiagnostics(kube, namespace)).summary,
    },
  );
  const df_s = secondsSince(started);
  const after = await setup.waitForReadyPod();
  return {
    requested: size,
    ...facts,
    df_s,
    dfBeforeBytes: before.sizeBytes,
    dfAfterBytes: seen.fs.sizeBytes,
    podBefore,
    podAfter: nameOf(after),
    restarts: (setup.mysqlContainerStatus(after)?.restartCount ?? 0) - restartsBefore,
  };
}
