import { randomBytes } from "node:crypto";
import type { V1Container, V1Volume } from "@kubernetes/client-node";
import type { Kube } from "./client.ts";
import { waitForReadyPod } from "./waits.ts";
import { timeouts } from "../timeouts.ts";

/** A helper pod's one container and its volumes; it must keep running on its own (a `sleep`) while exec does the work. */
export interface HelperPodSpec {
  /** Names the pod (`<purpose>-<random>`). */
  purpose: string;
  container: Omit<V1Container, "name">;
  volumes: V1Volume[];
  /** Labels besides the helper's own (a probe that stands for the application wears its labels). */
  labels?: Record<string, string>;
  /** Runs on this node (the one whose image cache has the image), bypassing the scheduler. */
  nodeName?: string;
}

/**
 * Runs `use` while a helper pod is running (not Ready: it has no probe), then
 * deletes it. The image should be one the node already has.
 */
export async function withHelperPod<T>(kube: Kube, namespace: string, spec: HelperPodSpec, use: (name: string) => Promise<T>): Promise<T> {
  const name = `${spec.purpose}-${randomBytes(3).toString("hex")}`;
  const label = { "storage-conformance/helper": name };
  await kube.core.createNamespacedPod({
    namespace,
    body: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace, labels: { ...spec.labels, ...label } },
      spec: {
        ...(spec.nodeName ? { nodeName: spec.nodeName } : {}),
        restartPolicy: "Never",
        terminationGracePeriodSeconds: 0,
        containers: [{ imagePullPolicy: "IfNotPresent", ...spec.container, name: "helper" }],
        volumes: spec.volumes,
      },
    },
  });
  try {
    await waitForReadyPod(kube, namespace, `storage-conformance/helper=${name}`, timeouts.podReadyMs, { runningIsEnough: true });
    return await use(name);
  } finally {
    await kube.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
  }
}

/**
 * Runs `use` while a helper pod with `claim` mounted at `mountPath` is running
 * (the image's own `sleep` keeps it up; exec does the work), then deletes the
 * pod. The image should be one the node already has (the database's own).
 */
export function withClaimPod<T>(
  kube: Kube,
  namespace: string,
  pod: { purpose: string; image: string; claim: string; mountPath: string; readOnly: boolean },
  use: (name: string) => Promise<T>,
): Promise<T> {
  return withHelperPod(
    kube,
    namespace,
    {
      purpose: pod.purpose,
      container: { image: pod.image, command: ["sleep", "600"], volumeMounts: [{ name: "claim", mountPath: pod.mountPath, readOnly: pod.readOnly }] },
      volumes: [{ name: "claim", persistentVolumeClaim: { claimName: pod.claim, readOnly: pod.readOnly } }],
    },
    use,
  );
}
