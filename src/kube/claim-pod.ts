import { randomBytes } from "node:crypto";
import type { Kube } from "./client.ts";
import { waitForReadyPod } from "./waits.ts";
import { timeouts } from "../timeouts.ts";

/**
 * Runs `use` while a helper pod with `claim` mounted at `mountPath` is running
 * (the image's own `sleep` keeps it up; exec does the work), then deletes the
 * pod. The image should be one the node already has (the database's own).
 */
export async function withClaimPod<T>(
  kube: Kube,
  namespace: string,
  pod: { purpose: string; image: string; claim: string; mountPath: string; readOnly: boolean },
  use: (name: string) => Promise<T>,
): Promise<T> {
  const name = `${pod.purpose}-${randomBytes(3).toString("hex")}`;
  const label = { "storage-conformance/helper": name };
  await kube.core.createNamespacedPod({
    namespace,
    body: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace, labels: label },
      spec: {
        restartPolicy: "Never",
        terminationGracePeriodSeconds: 0,
        containers: [{ name: "helper", image: pod.image, imagePullPolicy: "IfNotPresent", command: ["sleep", "600"], volumeMounts: [{ name: "claim", mountPath: pod.mountPath, readOnly: pod.readOnly }] }],
        volumes: [{ name: "claim", persistentVolumeClaim: { claimName: pod.claim, readOnly: pod.readOnly } }],
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
