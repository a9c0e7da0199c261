import {
  atRestVerdict,
  credentialsVerdict,
  designClaims,
  inTransitVerdict,
  networkVerdict,
  type SecurityVerdict,
  whoCanMountVerdict,
} from "../../src/conformance/security.ts";
import { inspectCredentials } from "../../src/conformance/security-credentials.ts";
import { probeNetwork } from "../../src/conformance/security-network.ts";
import { probeAtRest, probeWhoCanMount } from "../../src/conformance/security-storage.ts";
import { probeInTransit } from "../../src/conformance/security-transit.ts";
import { designPerFile, describe, expect, test } from "../support/test.ts";

// One deployment for the file, initialised by the image (an encrypted data directory
// and its keyring are what initialisation makes, never a copy), in the order below:
// the credentials are searched before anything else adds events, logs or pods, and
// the at-rest check, which restarts MySQL, comes last.
const design = designPerFile("security", { dataset: false, fresh: true });

/** The verdict's notes: what was tried and seen, then the finding (a protection the manifests do not claim), if any. */
function noteVerdict(verdict: SecurityVerdict, note: (text: string) => void): void {
  for (const line of verdict.seen) note(line);
  if (verdict.finding) note(`finding: ${verdict.finding}`);
}

describe("the design's Security Considerations", () => {
  test(`"${designClaims.credentials}": the root password is in no argument, process, annotation, event or log, and reaches only the containers that use it`, async ({
    kube,
    manifests,
    cluster,
    record,
    note,
  }) => {
    const { setup } = await design({ kube, manifests, cluster });
    const facts = await inspectCredentials(setup);
    record(
      "credential_places_searched",
      Object.values(facts.searched).reduce((a, b) => a + b, 0),
      "places",
    );
    record("credential_sightings", facts.sightings.length, "places");
    record("secrets_unused_where_handed", facts.unused.length, "containers");
    const verdict = credentialsVerdict(facts);
    noteVerdict(verdict, note);
    expect(verdict.failure ?? "kept").toBe("kept");
  });

  test(`"${designClaims.network}": only the application's pods connect to MySQL on 3306, strangers of this namespace or another are refused`, async ({
    kube,
    manifests,
    cluster,
    record,
    note,
    skip,
  }) => {
    const { setup } = await design({ kube, manifests, cluster });
    const facts = await probeNetwork(setup, cluster.runId);
    record("network_policy_enforced", facts.enforced ? "yes" : "no", "");
    record("stranger_other_namespace", facts.strangerElsewhere.outcome, "");
    record("stranger_same_namespace", facts.strangerHere.outcome, "");
    record("application", facts.application.outcome, "");
    const verdict = networkVerdict(facts);
    noteVerdict(verdict, note);
    if (verdict.skip) return skip(verdict.skip);
    expect(verdict.failure ?? "kept").toBe("kept");
  });

  test(`"${designClaims.inTransit}", in transit: a connection through the Service is encrypted, and a plain one is refused`, async ({
    kube,
    manifests,
    cluster,
    record,
    note,
  }) => {
    const { setup } = await design({ kube, manifests, cluster });
    const facts = await probeInTransit(setup);
    if (facts.preferred.connected) {
      record("tls_cipher", facts.preferred.cipher || "(none)", "");
      record("tls_version", facts.preferred.version || "(none)", "");
      record("require_secure_transport", facts.preferred.requireSecureTransport, "");
    }
    record("plain_connection", facts.plain.connected ? "accepted" : "refused", "");
    const verdict = inTransitVerdict(facts);
    noteVerdict(verdict, note);
    expect(verdict.failure ?? "kept").toBe("kept");
  });

  test(`"${designClaims.onlyMysql}": no other pod mounts the data claim while MySQL runs ("${designClaims.readWriteOnce}")`, async ({
    kube,
    manifests,
    cluster,
    record,
    note,
  }) => {
    const { setup } = await design({ kube, manifests, cluster });
    const facts = await probeWhoCanMount(setup);
    record("second_pod_mounted_concurrently", facts.concurrent ? "yes" : "no", "");
    record("second_pod_s", facts.seconds, "s");
    const verdict = whoCanMountVerdict(facts);
    noteVerdict(verdict, note);
    expect(verdict.failure ?? "kept").toBe("kept");
  });

  test(`"${designClaims.atRest}": a row written through SQL is in no file of the claim in plain text, and MySQL still serves it after a restart`, async ({
    kube,
    manifests,
    cluster,
    record,
    note,
  }) => {
    const { setup } = await design({ kube, manifests, cluster });
    const facts = await probeAtRest(setup);
    record("files_searched", facts.filesSearched, "files");
    record("files_with_marker", facts.found.length, "files");
    record("served_after_restart", facts.served ? "yes" : "no", "");
    record("restart_s", facts.restartSeconds, "s");
    const verdict = atRestVerdict(facts);
    noteVerdict(verdict, note);
    expect(verdict.failure ?? "kept").toBe("kept");
  });
});
