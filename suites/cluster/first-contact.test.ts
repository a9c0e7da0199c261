import { describe, expect, test } from "../support/test.ts";
import { DeployedSetup } from "../../src/conformance/deployment.ts";

describe("the storage setup on a fresh namespace", () => {
  test("binds mysql-pvc by dynamic provisioning and serves SQL from the claim", async ({ kube, namespace, manifests, record }) => {
    const started = performance.now();
    const setup = await DeployedSetup.deploy(kube, namespace, manifests);

    const claim = await setup.waitForClaimBound();
    record("claim_bound_s", +((performance.now() - started) / 1000).toFixed(2), "s");
    const volumeName = claim.spec?.volumeName ?? "";
    expect(volumeName, `claim ${setup.claimName} is Bound but names no volume`).not.toBe("");
    const volume = await kube.core.readPersistentVolume({ name: volumeName });
    const provisionedBy = volume.metadata?.annotations?.["pv.kubernetes.io/provisioned-by"];
    expect(provisionedBy, `PV ${volumeName} was not created by a provisioner (annotation pv.kubernetes.io/provisioned-by is missing): it was not dynamically provisioned`).toBeTruthy();
    record("provisioner", provisionedBy!, "");

    const db = await setup.open();
    try {
      record("pod_ready_s", +((performance.now() - started) / 1000).toFixed(2), "s");
      const [rows] = await db.connection.query("SELECT VERSION() AS version, @@datadir AS datadir");
      const { version, datadir } = (rows as { version: string; datadir: string }[])[0]!;
      record("server_version", version, "");
      expect(datadir.replace(/\/$/, ""), `mysqld's datadir is ${datadir}, not the mounted claim`).toBe("/var/lib/mysql");
    } finally {
      await db.close();
    }
    record("first_test_s", +((performance.now() - started) / 1000).toFixed(2), "s");
  });
});
