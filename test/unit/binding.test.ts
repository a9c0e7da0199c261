import { describe, expect, it } from "vitest";
import { type BindingFacts, bindingMismatches } from "../../src/conformance/binding.ts";

const good: BindingFacts = {
  storageClass: {
    name: "standard",
    provisioner: "rancher.io/local-path",
    reclaimPolicy: "Delete",
    volumeBindingMode: "WaitForFirstConsumer",
    allowVolumeExpansion: false,
  },
  volume: { name: "pvc-1", capacity: "1Gi", accessModes: ["ReadWriteOnce"], reclaimPolicy: "Delete", provisionedBy: "rancher.io/local-path" },
  requested: "1Gi",
  declaredAccessModes: ["ReadWriteOnce"],
  designDifferences: [],
};

describe("the claim's volume against its class and the claim", () => {
  it("matches when provisioned by the class, as large as the request, with the declared modes and the class's reclaim policy", () => {
    expect(bindingMismatches(good, "mysql-pvc")).toEqual([]);
    expect(bindingMismatches({ ...good, volume: { ...good.volume, capacity: "2Gi" } }, "mysql-pvc"), "more than the request is fine").toEqual([]);
  });

  it("names each mismatch in one sentence", () => {
    const bad: BindingFacts = {
      ...good,
      volume: { name: "pv-static", capacity: "512Mi", accessModes: ["ReadOnlyMany"], reclaimPolicy: "Retain", provisionedBy: "" },
    };
    expect(bindingMismatches(bad, "mysql-pvc")).toEqual([
      `PV pv-static was not dynamically provisioned by StorageClass standard's provisioner: expected annotation pv.kubernetes.io/provisioned-by=rancher.io/local-path, found "none" (a pre-created volume?)`,
      "PV pv-static holds 512Mi, less than the 1Gi claim mysql-pvc requests",
      "PV pv-static lacks the access modes the claim declares: ReadWriteOnce (it has ReadOnlyMany)",
      "PV pv-static has reclaim policy Retain, not its class's Delete",
    ]);
  });
});
