import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { nameOf } from "../../src/kube/names.ts";
import { inInstallOrder } from "../../src/kube/apply.ts";
import { describeApiError } from "../../src/kube/client.ts";
import { podDeadEnd } from "../../src/kube/waits.ts";
import { redact } from "../../src/redact.ts";

const waitingPod = (reason: string, restartCount = 0, message = "detail"): V1Pod => ({
  metadata: { name: "mysql-0", namespace: "ns" },
  status: {
    containerStatuses: [{ name: "mysql", image: "mysql:8.4", imageID: "", ready: false, restartCount, state: { waiting: { reason, message } } }],
  },
});

describe("podDeadEnd", () => {
  it("gives up on an image that cannot be pulled", () => {
    expect(podDeadEnd({ pod: waitingPod("ImagePullBackOff"), missingClaims: [] })).toBe("container mysql is ImagePullBackOff: detail");
  });
  it("gives up on a container config that names a missing Secret key, not on a kubelet whose Secret cache is catching up", () => {
    const missingKey = "couldn't find key password in Secret ns/mysql-secret";
    expect(podDeadEnd({ pod: waitingPod("CreateContainerConfigError", 0, missingKey), missingClaims: [] })).toBe(
      `container mysql is CreateContainerConfigError: ${missingKey}`,
    );
    const catchingUp = "failed to sync secret cache: timed out waiting for the condition";
    expect(podDeadEnd({ pod: waitingPod("CreateContainerConfigError", 0, catchingUp), missingClaims: [] })).toBeUndefined();
  });
  it("keeps waiting through the first crash-loop restarts", () => {
    expect(podDeadEnd({ pod: waitingPod("CrashLoopBackOff", 1), missingClaims: [] })).toBeUndefined();
    expect(podDeadEnd({ pod: waitingPod("CrashLoopBackOff", 2), missingClaims: [] })).toBe("container mysql is crash-looping (2 restarts)");
  });
  it("names a claim the API server confirms missing", () => {
    expect(podDeadEnd({ pod: waitingPod("ContainerCreating"), missingClaims: ["mysql-pvc-typo"] })).toBe(
      'the pod needs PersistentVolumeClaim "mysql-pvc-typo", which does not exist in ns',
    );
  });
  it("quotes a provisioner that keeps refusing the claim", () => {
    const state = {
      pod: waitingPod("ContainerCreating"),
      missingClaims: [],
      failedProvisioning: [{ claim: "mysql-pvc", message: "NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes" }],
    };
    expect(podDeadEnd(state)).toBe(
      "the pod cannot be scheduled: the provisioner keeps failing for its claim mysql-pvc: NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes",
    );
  });
  it("names a claim whose StorageClass does not exist, with the classes that do", () => {
    const state = {
      pod: waitingPod("ContainerCreating"),
      missingClaims: [],
      claimsWithoutClass: [{ claim: "mysql-pvc", className: "fast-ssd", classes: ["local-path", "standard"] }],
    };
    expect(podDeadEnd(state)).toBe(
      'the pod cannot be scheduled: its claim mysql-pvc names StorageClass "fast-ssd", which does not exist (classes: local-path, standard)',
    );
  });
});

describe("inInstallOrder", () => {
  it("applies claims and secrets before the Deployment that uses them", () => {
    const kinds = ["Deployment", "Service", "PersistentVolumeClaim", "Secret"].map((kind) => ({ object: { kind } }));
    expect(inInstallOrder(kinds).map((o) => o.object.kind)).toEqual(["Secret", "PersistentVolumeClaim", "Service", "Deployment"]);
  });
});

describe("describeApiError", () => {
  it("keeps the status and the server's message, never headers", () => {
    const error = { code: 404, body: JSON.stringify({ message: 'namespaces "x" not found' }), headers: { authorization: "Bearer s3cr3t" } };
    expect(describeApiError(error)).toBe('HTTP 404: namespaces "x" not found');
  });
});

describe("redact", () => {
  it("removes every occurrence of a secret value", () => {
    expect(redact("password=hunter22 and again hunter22", ["hunter22"])).toBe("password=[redacted] and again [redacted]");
  });
});

describe("nameOf", () => {
  it("reads an object's name, and names the kind of an object without one", () => {
    expect(nameOf({ kind: "Pod", metadata: { name: "mysql-0" } })).toBe("mysql-0");
    expect(() => nameOf({ kind: "Pod", metadata: {} })).toThrow("Pod without metadata.name, where the API server always gives one");
    expect(() => nameOf({})).toThrow("an object without metadata.name");
  });
});
