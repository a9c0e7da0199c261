/**
 * Who can connect to MySQL over the pod network ("Network-level security
 * (pod-to-pod communication)"): probe pods (MySQL's own image, which the node
 * has, idle while exec tries a TCP connection with bash's /dev/tcp) try the
 * Service's address: a stranger in another namespace, a stranger in MySQL's
 * namespace, and a pod wearing the application's labels. First, whether the
 * cluster enforces NetworkPolicy at all: a probe pod whose own policy denies
 * all its egress must lose its connection, else every policy is ignored here.
 * Policies are written by a controller after it sees the pod, so a probe
 * keeps trying (timeouts.policyEnforcedMs) for the outcome a policy would give.
 */
import type { V1NetworkPolicy, V1Pod } from "@kubernetes/client-node";
import { applicationLabels } from "../labels.ts";
import { type HelperPodSpec, withHelperPod } from "../kube/claim-pod.ts";
import type { Kube } from "../kube/client.ts";
import { describeApiError } from "../kube/client.ts";
import { execInPod } from "../kube/exec.ts";
import { nameOf } from "../kube/names.ts";
import { createNamespace, deleteNamespace } from "../kube/namespace.ts";
import { serverSideApply } from "../kube/raw-apply.ts";
import { WaitError, waitFor } from "../kube/wait.ts";
import { waitForDefaultServiceAccount } from "../kube/waits.ts";
import { placedIn } from "../kube/apply.ts";
import { ingressPoliciesFor } from "../manifests/network.ts";
import { networkPolicyViews } from "../manifests/views.ts";
import { labelSelector, podLabels } from "../manifests/workload.ts";
import type { DeployedSetup } from "../design/deployment.ts";
import { mysqlService } from "../ledger/writer.ts";
import { pollIntervals, timeouts } from "../timeouts.ts";
import type { ConnectOutcome, NetworkFacts } from "./security.ts";

/** The label every probe pod wears, by role; none is the application's or MySQL's. */
export const probeLabel = "storage-conformance/probe";

/** The one policy the enforcement probe brings into its namespace: every pod labelled egress-denied may send nothing. */
export function egressDenyPolicy(namespace: string): V1NetworkPolicy {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "sc-deny-egress-probe", namespace },
    spec: { podSelector: { matchLabels: { [probeLabel]: "egress-denied" } }, policyTypes: ["Egress"], egress: [] },
  };
}

export type ProbeRole = "stranger" | "application" | "egress-denied";

/** A probe pod's labels: its role, and the application's labels for the one that stands for it (never MySQL's). */
export function probeLabels(role: ProbeRole): Record<string, string> {
  return role === "application" ? { ...applicationLabels, [probeLabel]: role } : { [probeLabel]: role };
}

/**
 * One TCP connection attempt to host:port, bounded by `timeoutS`, as a
 * command for bash: it prints "exit=N" (0 connected, 124 timed out, else
 * refused or unreachable).
 */
export function connectCommand(host: string, port: number, timeoutS: number): string[] {
  return ["bash", "-c", `timeout ${timeoutS} bash -c 'exec 3<>/dev/tcp/${host}/${port}' 2>/dev/null; echo "exit=$?"`];
}

/** How connectCommand's attempt ended, from what it printed. */
export function parseConnectOutput(stdout: string): ConnectOutcome {
  const code = /exit=(\d+)/.exec(stdout)?.[1];
  if (code === undefined) throw new Error(`the connection attempt printed no exit status: ${JSON.stringify(stdout.slice(0, 200))}`);
  if (code === "0") return "connected";
  return code === "124" ? "timed out" : "refused";
}

interface Target {
  host: string;
  port: number;
  /** "Service mysql (10.43.12.7:3306)". */
  label: string;
}

/** One attempt from the probe pod `pod` in `namespace`. */
async function attempt(kube: Kube, namespace: string, pod: string, target: Target): Promise<ConnectOutcome> {
  const timeoutS = Math.max(1, Math.round(timeouts.tcpConnectMs / 1000));
  const result = await execInPod(kube, { namespace, pod, container: "helper" }, connectCommand(target.host, target.port, timeoutS), {
    timeoutMs: timeouts.execMs,
  });
  return parseConnectOutput(result.stdout);
}

/**
 * Tries until the outcome is `wanted` or the patience runs out, and returns
 * the last outcome: a fact to judge, not a failure of the wait. With no
 * patience, one attempt.
 */
async function connectUntil(
  kube: Kube,
  namespace: string,
  pod: string,
  target: Target,
  wanted: (o: ConnectOutcome) => boolean,
  patienceMs: number,
): Promise<ConnectOutcome> {
  if (patienceMs <= 0) return attempt(kube, namespace, pod, target);
  let last: ConnectOutcome | undefined;
  try {
    return await waitFor(
      async () => {
        last = await attempt(kube, namespace, pod, target);
        return last;
      },
      wanted,
      { what: `a connection from pod ${namespace}/${pod} to ${target.label}`, timeoutMs: patienceMs, intervalMs: pollIntervals.clusterMs, signal: kube.signal },
    );
  } catch (error) {
    if (error instanceof WaitError && last) return last;
    throw error;
  }
}

/** A probe pod of `role`: MySQL's image (the node has it), idle while exec tries connections, on MySQL's node. */
export function probePodSpec(role: ProbeRole, image: string, nodeName?: string): HelperPodSpec {
  return {
    purpose: `probe-${role}`,
    container: { image, command: ["sleep", "600"], resources: { requests: { cpu: "10m", memory: "16Mi" } } },
    volumes: [],
    labels: probeLabels(role),
    ...(nodeName ? { nodeName } : {}),
  };
}

/** A probe pod of `role` in `namespace`, for `use`. */
function withProbe<T>(kube: Kube, namespace: string, role: ProbeRole, mysqlPod: V1Pod, image: string, use: (pod: string) => Promise<T>): Promise<T> {
  return withHelperPod(kube, namespace, probePodSpec(role, image, mysqlPod.spec?.nodeName), use);
}

/** MySQL's Service as a probe reaches it: its cluster address and port (no cluster DNS needed). */
async function serviceTarget(setup: DeployedSetup): Promise<Target> {
  const { name, port } = mysqlService(setup);
  const service = await setup.kube.core.readNamespacedService({ name, namespace: setup.namespace }).catch((error: unknown) => {
    throw new Error(`reading Service ${name}: ${describeApiError(error)}`);
  });
  const host = service.spec?.clusterIP;
  if (!host || host === "None") throw new Error(`Service ${name} has no cluster address (clusterIP ${host ?? "unset"}); the probes connect to one`);
  return { host, port, label: `Service ${name} (${host}:${port})` };
}

/**
 * Probes who can connect to MySQL's Service: the enforcement probe and a
 * stranger in a namespace of their own (made here, deleted after), a
 * stranger and the application in MySQL's namespace, all at once.
 */
export async function probeNetwork(setup: DeployedSetup, runId: string): Promise<NetworkFacts> {
  const { kube, namespace } = setup;
  const mysqlPod = await setup.waitForReadyPod();
  const image = mysqlPod.spec!.containers.find((c) => c.name === setup.workload.container.name)!.image!;
  const target = await serviceTarget(setup);
  const policies = ingressPoliciesFor(networkPolicyViews(setup.objects), podLabels(setup.workload)).map((p) => p.name);
  const patienceMs = timeouts.policyEnforcedMs;
  // Without a policy of the manifests nothing changes over time: one attempt is the answer.
  const strangerPatience = policies.length ? patienceMs : 0;
  const elsewhere = await createNamespace(kube, "stranger", runId);
  try {
    await waitForDefaultServiceAccount(kube, elsewhere, timeouts.namespaceReadyMs);
    const deny = egressDenyPolicy(elsewhere);
    await serverSideApply(kube, placedIn(deny, elsewhere)).catch((error: unknown) => {
      throw new Error(`applying the enforcement probe's NetworkPolicy in ${elsewhere}: ${describeApiError(error)}`);
    });
    const refused = (o: ConnectOutcome) => o !== "connected";
    const [enforcement, strangerElsewhere, strangerHere, application] = await Promise.all([
      withProbe(kube, elsewhere, "egress-denied", mysqlPod, image, (pod) => connectUntil(kube, elsewhere, pod, target, refused, patienceMs)),
      withProbe(kube, elsewhere, "stranger", mysqlPod, image, (pod) => connectUntil(kube, elsewhere, pod, target, refused, strangerPatience)),
      withProbe(kube, namespace, "stranger", mysqlPod, image, (pod) => connectUntil(kube, namespace, pod, target, refused, strangerPatience)),
      withProbe(kube, namespace, "application", mysqlPod, image, (pod) => connectUntil(kube, namespace, pod, target, (o) => o === "connected", patienceMs)),
    ]);
    return {
      service: target.label,
      policies,
      enforced: enforcement !== "connected",
      enforcement:
        enforcement === "connected"
          ? `it still connected to ${target.label} after ${patienceMs / 1000} s under policy ${nameOf(deny)}`
          : `its connection ${enforcement === "refused" ? "was refused" : "timed out"} under policy ${nameOf(deny)}, as it must`,
      strangerElsewhere: { namespace: elsewhere, outcome: strangerElsewhere },
      strangerHere: { outcome: strangerHere },
      application: { labels: labelSelector(applicationLabels), outcome: application },
      patienceS: patienceMs / 1000,
    };
  } finally {
    await deleteNamespace(kube, elsewhere, { wait: false, timeoutMs: timeouts.namespaceDeletedMs }).catch(() => undefined);
  }
}
