import { DeployedSetup } from "../../src/design/deployment.ts";
import { bindingMismatches, readBinding } from "../../src/conformance/binding.ts";
import { timeouts } from "../../src/timeouts.ts";
import { secondsSince } from "../../src/clock.ts";
import { describe, expect, test } from "../support/test.ts";

describe("mysql-pvc", () => {
  test(`is Bound by dynamic provisioning within ${timeouts.claimBoundMs / 1000} s, with the capacity, access modes and reclaim policy declared`, async ({
    kube,
    namespace,
    manifests,
    record,
    note,
  }) => {
    const started = performance.now();
    const setup = await DeployedSetup.deploy(kube, namespace, manifests);
    await setup.waitForClaimBound();
    record("claim_bound_s", secondsSince(started), "s");

    const facts = await readBinding(setup);
    record("storage_class", facts.storageClass.name, "");
    record("provisioner", facts.storageClass.provisioner, "");
    record("reclaim_policy", facts.storageClass.reclaimPolicy, "");
    record("volume_binding_mode", facts.storageClass.volumeBindingMode, "");
    record("allow_volume_expansion", facts.storageClass.allowVolumeExpansion, "");
    record("pv_capacity", facts.volume.capacity, "");
    record("pv_access_modes", facts.volume.accessModes.join(","), "");
    if (facts.volume.path) record("pv_path", facts.volume.path, "");
    for (const difference of facts.designDifferences) note(difference);
    // Made by the class's provisioner (not pre-created), at least the request, the declared access modes, the class's reclaim policy.
    expect(bindingMismatches(facts, setup.claimName), `claim ${setup.claimName}'s volume ${facts.volume.name} against its class and the claim`).toEqual([]);
  });
});
