import { PatchStrategy } from "@kubernetes/client-node";
import { managedBy } from "../labels.ts";
import type { Kube } from "../kube/client.ts";
import { describeApiError } from "../kube/client.ts";

/**
 * The design names `storageClassName: standard` (minikube's default class).
 * On k3s the suite provides a `standard` class backed by k3s's local-path
 * provisioner, so the design's manifests apply unchanged. local-path can only
 * bind once a pod is scheduled (WaitForFirstConsumer), unlike the design's
 * "Immediate"; the binding check reports that difference.
 */
export async function provideStandardStorageClass(kube: Kube): Promise<void> {
  const body = {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: "standard", labels: { ...managedBy } },
    provisioner: "rancher.io/local-path",
    reclaimPolicy: "Delete",
    volumeBindingMode: "WaitForFirstConsumer",
    allowVolumeExpansion: false,
  };
  try {
    await kube.objects.patch(body, undefined, undefined, "storage-conformance", true, PatchStrategy.ServerSideApply);
  } catch (error) {
    throw new Error(`creating StorageClass standard failed: ${describeApiError(error)}`);
  }
}
