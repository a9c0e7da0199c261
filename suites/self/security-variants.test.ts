import { atRestVerdict, networkVerdict } from "../../src/conformance/security.ts";
import { probeNetwork } from "../../src/conformance/security-network.ts";
import { probeAtRest } from "../../src/conformance/security-storage.ts";
import { DeployedSetup } from "../../src/design/deployment.ts";
import { inject } from "vitest";
import { describe, expect, loadForEngine, test } from "../support/test.ts";

// The security suite's checks, pointed at the variants that add a protection the
// design names (fixtures/network-policy, fixtures/encrypted), must see it working:
// the same checks that note its absence on the design's manifests.
describe.concurrent("the security checks see the protections the variants add", () => {
  test("network-policy: a stranger of another namespace and one of MySQL's namespace are refused, the application connects", async ({
    kube,
    namespace,
    cluster,
    skip,
  }) => {
    const setup = await DeployedSetup.deploy(kube, namespace, loadForEngine("fixtures/network-policy"));
    const facts = await probeNetwork(setup, cluster.runId);
    const verdict = networkVerdict(facts);
    if (verdict.skip) return skip(verdict.skip);
    expect(facts.policies).toEqual(["mysql-ingress"]);
    expect([facts.strangerElsewhere.outcome, facts.strangerHere.outcome, facts.application.outcome]).toEqual([
      expect.not.stringMatching(/^connected$/),
      expect.not.stringMatching(/^connected$/),
      "connected",
    ]);
    expect(verdict).toEqual({ seen: expect.any(Array) });
  });

  test("encrypted: the marker row is in no file of the claim, its tablespace is encrypted, and MySQL serves it after a restart", async ({
    kube,
    namespace,
    skip,
  }) => {
    if (inject("runFacts").engine.name !== "mysql")
      return skip("fixtures/encrypted is MySQL's keyring component; MariaDB encrypts with its own file_key_management plugin");
    const setup = await DeployedSetup.deploy(kube, namespace, loadForEngine("fixtures/encrypted"));
    await setup.waitForReadyPod();
    const facts = await probeAtRest(setup);
    expect(facts.found, `files holding the marker under ${facts.dataDir}`).toEqual([]);
    expect(facts.served).toBe(true);
    expect(facts.tableEncrypted).toBe(true);
    expect(facts.keyring).toMatch(/^component_keyring_file Active$/);
    expect(facts.settings).toMatchObject({
      default_table_encryption: "ON",
      innodb_redo_log_encrypt: "ON",
      innodb_undo_log_encrypt: "ON",
      binlog_encryption: "ON",
    });
    expect(atRestVerdict(facts)).toEqual({ seen: expect.any(Array) });
  });
});
