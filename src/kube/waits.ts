import type { V1Node, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { Kube } from "./client.ts";
import { isNotFound } from "./client.ts";
import { collectDiagnostics, describePod } from "./diagnostics.ts";
import { waitFor } from "./wait.ts";
import { nameOf } from "./names.ts";
import { pollIntervals } from "../timeouts.ts";

/** What the API server says of a claim that is not Bound yet: why it may never be. */
export interface ClaimState {
  claim?: V1PersistentVolumeClaim;
  /** Set when the claim does not exist: the claims that do. */
  existingClaims?: string[];
  /** Set when the claim names a class the cluster does not have. */
  missingClass?: string;
  classes?: string[];
  /** The provisioner's repeated failure message, if any. */
  provisioningFailed?: string;
}

/**
 * The provisioner's own word when it keeps failing for this claim: a
 * ProvisioningFailed event seen at least twice (one failure may be retried
 * away; a repeated one is the provisioner saying no).
 */
async function repeatedProvisioningFailure(kube: Kube, namespace: string, claim: string): Promise<string | undefined> {
  const events = await kube.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=PersistentVolumeClaim,involvedObject.name=${claim}` });
  const failed = events.items.filter((e) => e.reason === "ProvisioningFailed");
  const count = failed.reduce((n, e) => n + (e.count ?? 1) + (e.series?.count ?? 0), 0);
  return count >= 2 ? failed.at(-1)?.message : undefined;
}

/**
 * Reads a claim and, while it is not Bound, what keeps it from binding: it
 * does not exist, its class does not exist, or its provisioner keeps refusing.
 * Both the claim wait and the pod wait judge a claim by this.
 */
async function inspectClaim(kube: Kube, namespace: string, name: string): Promise<ClaimState> {
  const claim = await kube.core.readNamespacedPersistentVolumeClaim({ name, namespace }).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
  if (!claim) return { existingClaims: (await kube.core.listNamespacedPersistentVolumeClaim({ namespace })).items.map((c) => nameOf(c)) };
  if (claim.status?.phase === "Bound") return { claim };
  const className = claim.spec?.storageClassName;
  if (className) {
    const classes = (await kube.storage.listStorageClass()).items.map((c) => nameOf(c));
    if (!classes.includes(className)) return { claim, missingClass: className, classes };
  }
  if (claim.status?.phase === "Pending") return { claim, provisioningFailed: await repeatedProvisioningFailure(kube, namespace, name) };
  return { claim };
}

/** Why waiting longer for this claim to bind cannot help, if it cannot. */
function claimDeadEnd(name: string, namespace: string, s: ClaimState): string | undefined {
  if (s.existingClaims) {
    return `PersistentVolumeClaim ${name} does not exist in ${namespace} after the manifests were applied (claims there: ${s.existingClaims.join(", ") || "none"}); check the claimName`;
  }
  if (s.provisioningFailed) return `the provisioner keeps failing: ${s.provisioningFailed}`;
  if (s.missingClass) return `StorageClass "${s.missingClass}" does not exist (classes: ${s.classes!.join(", ") || "none"})`;
  if (s.claim?.status?.phase === "Lost") return "the claim is Lost: its volume is gone";
  return undefined;
}

/**
 * Named wait: the claim is Bound. Called after the manifests are applied, so a
 * claim that does not exist, a missing class, a provisioner that keeps
 * refusing or a Lost claim ends it early.
 */
export async function waitForClaimBound(kube: Kube, namespace: string, name: string, timeoutMs: number): Promise<V1PersistentVolumeClaim> {
  const state = await waitFor(
    () => inspectClaim(kube, namespace, name),
    (s) => s.claim?.status?.phase === "Bound",
    {
      what: `PersistentVolumeClaim ${name} to be Bound`,
      signal: kube.signal,
      timeoutMs,
      deadEnd: (s) => claimDeadEnd(name, namespace, s),
      describe: (s) => (s.claim ? `phase ${s.claim.status?.phase}` : `no PersistentVolumeClaim named ${name} in ${namespace}`),
      diagnose: async () => (await collectDiagnostics(kube, namespace)).summary,
    },
  );
  return state.claim!;
}

const hopelessWaiting = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError"]);
/**
 * A CreateContainerConfigError the kubelet recovers from by itself: its watch
 * of the pod's Secrets or ConfigMaps had not caught up yet (seen 2026-12-06: "failed to
 * sync secret cache: timed out waiting for the condition", the container created a second later).
 */
const kubeletCatchingUp = /failed to sync (secret|configmap) cache/i;

interface PodState {
  pod?: V1Pod;
  /** Claims the pod names that the API server does not have. */
  missingClaims: string[];
  /** Claims the pod names whose StorageClass does not exist, as "claim → class". */
  claimsWithoutClass?: { claim: string; className: string; classes: string[] }[];
  /** Claims the pod names whose provisioning keeps failing, with the provisioner's message. */
  failedProvisioning?: { claim: string; message: string }[];
}

/** A node's Ready condition: its status ("True", "False", "Unknown" when missing) and reason. */
export function readyCondition(node: V1Node): { status: string; reason?: string } {
  const c = node.status?.conditions?.find((c) => c.type === "Ready");
  return { status: c?.status ?? "Unknown", ...(c?.reason ? { reason: c.reason } : {}) };
}

/**
 * Named wait: node `name` is Ready. Its Node object may not exist yet (an
 * agent still joining) or be NotReady (a node powered on again); either is
 * waited out. `what` ends the failure message ("node NAME to be Ready").
 */
export async function waitForNodeReady(kube: Kube, name: string, timeoutMs: number, what = `node ${name} to be Ready`): Promise<V1Node> {
  const node = await waitFor(
    () => kube.core.readNode({ name }).catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e))),
    (n) => n !== undefined && readyCondition(n).status === "True",
    {
      what,
      signal: kube.signal,
      timeoutMs,
      intervalMs: pollIntervals.clusterMs,
      describe: (n) => {
        if (!n) return "no Node object yet";
        const { status, reason } = readyCondition(n);
        return `Ready=${status}${reason ? ` (${reason})` : ""}`;
      },
    },
  );
  return node!;
}

/** Why waiting longer for this pod cannot help, if it cannot. */
export function podDeadEnd(state: PodState): string | undefined {
  const { pod } = state;
  if (!pod) return undefined;
  for (const s of pod.status?.containerStatuses ?? []) {
    const reason = s.state?.waiting?.reason;
    const message = s.state?.waiting?.message ?? "";
    if (reason && hopelessWaiting.has(reason) && !kubeletCatchingUp.test(message)) return `container ${s.name} is ${reason}: ${message}`;
    if (reason === "CrashLoopBackOff" && (s.restartCount ?? 0) >= 2) return `container ${s.name} is crash-looping (${s.restartCount} restarts)`;
  }
  if (state.claimsWithoutClass?.length) {
    const first = state.claimsWithoutClass[0]!;
    return `the pod cannot be scheduled: its claim ${first.claim} names StorageClass "${first.className}", which does not exist (classes: ${first.classes.join(", ") || "none"})`;
  }
  if (state.failedProvisioning?.length) {
    const first = state.failedProvisioning[0]!;
    return `the pod cannot be scheduled: the provisioner keeps failing for its claim ${first.claim}: ${first.message}`;
  }
  if (state.missingClaims.length > 0) {
    return `the pod needs PersistentVolumeClaim ${state.missingClaims.map((c) => `"${c}"`).join(", ")}, which does not exist in ${pod.metadata?.namespace}`;
  }
  return undefined;
}

export function isPodReady(pod: V1Pod | undefined): boolean {
  return !!pod && !pod.metadata?.deletionTimestamp && pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
}

/** Every container of the pod runs (Ready or not), and the pod is not being deleted. */
export function isPodRunning(pod: V1Pod | undefined): boolean {
  const statuses = pod?.status?.containerStatuses ?? [];
  return !!pod && !pod.metadata?.deletionTimestamp && statuses.length > 0 && statuses.every((c) => c.state?.running);
}

/** Named wait: a pod matching `selector` (other than `exclude`) is Ready. */
export async function waitForReadyPod(
  kube: Kube,
  namespace: string,
  selector: string,
  timeoutMs: number,
  options: { exclude?: string; runningIsEnough?: boolean } = {},
): Promise<V1Pod> {
  // runningIsEnough: every container runs, Ready or not (a check that must act before readiness).
  const done = options.runningIsEnough ? isPodRunning : isPodReady;
  const state = await waitFor(
    async (): Promise<PodState> => {
      // A Ready pod if there is one (with two replicas on one claim, the second may never be).
      const candidates = (await kube.core.listNamespacedPod({ namespace, labelSelector: selector })).items.filter(
        (p) => p.metadata?.name !== options.exclude && !p.metadata?.deletionTimestamp,
      );
      const pod = candidates.find(done) ?? candidates[0];
      const missingClaims: string[] = [];
      const claimsWithoutClass: NonNullable<PodState["claimsWithoutClass"]> = [];
      const failedProvisioning: NonNullable<PodState["failedProvisioning"]> = [];
      if (pod && !pod.spec?.nodeName) {
        for (const v of pod.spec?.volumes ?? []) {
          const claim = v.persistentVolumeClaim?.claimName;
          if (!claim) continue;
          const state = await inspectClaim(kube, namespace, claim);
          if (state.existingClaims) missingClaims.push(claim);
          if (state.missingClass) claimsWithoutClass.push({ claim, className: state.missingClass, classes: state.classes! });
          if (state.provisioningFailed) failedProvisioning.push({ claim, message: state.provisioningFailed });
        }
      }
      return { pod, missingClaims, claimsWithoutClass, failedProvisioning };
    },
    (s) => done(s.pod),
    {
      what: `a ${options.runningIsEnough ? "running" : "Ready"} pod matching ${selector}`,
      signal: kube.signal,
      timeoutMs,
      deadEnd: podDeadEnd,
      describe: (s) => (s.pod ? describePod(s.pod) : `no pod matching ${selector}`),
      diagnose: async () => (await collectDiagnostics(kube, namespace)).summary,
    },
  );
  return state.pod!;
}

/**
 * Named wait: a namespace's default ServiceAccount exists. A namespace made a
 * moment ago refuses pods ("serviceaccount default not found") until its
 * controller has made one; a check that creates pods in a namespace of its
 * own waits for it first.
 */
export async function waitForDefaultServiceAccount(kube: Kube, namespace: string, timeoutMs: number): Promise<void> {
  await waitFor(
    () =>
      kube.core
        .readNamespacedServiceAccount({ name: "default", namespace })
        .then(() => true)
        .catch((error: unknown) => (isNotFound(error) ? false : Promise.reject(error))),
    (exists) => exists,
    { what: `the default ServiceAccount of namespace ${namespace}`, timeoutMs, signal: kube.signal, describe: () => "not made yet" },
  );
}
