import { startEmbeddedCluster } from "./src/cluster/index.ts";
import { provideStandardStorageClass } from "./src/conformance/cluster-setup.ts";
import { DeployedSetup } from "./src/conformance/deployment.ts";
import { LedgerWriter } from "./src/conformance/ledger-writer.ts";
import { parseWriterLog } from "./src/conformance/ledger.ts";
import { connect } from "./src/kube/client.ts";
import { createNamespace } from "./src/kube/namespace.ts";
import { loadManifests } from "./src/manifests/load.ts";
import { writeFileSync } from "node:fs";

const cluster = await startEmbeddedCluster("dbg-" + Date.now());
try {
  const kube = connect(cluster.kubeconfig);
  writeFileSync("/tmp/dbg/kubeconfig", cluster.kubeconfig);
  await provideStandardStorageClass(kube);
  const ns = await createNamespace(kube, "dbg", cluster.runId);
  const setup = await DeployedSetup.deploy(kube, ns, loadManifests("manifests"));
  await setup.waitForReadyPod();
  const t0 = Date.now();
  const writer = await LedgerWriter.start(setup, "dbg1");
  console.log("writer acked first commits after", Date.now() - t0, "ms");
  await new Promise((r) => setTimeout(r, 10000));
  const text = await writer.logText();
  writeFileSync("/tmp/dbg/log1.txt", text);
  const log = parseWriterLog(text);
  console.log("after 10 s: commits", log.commits.length, "acks", log.commits.filter((c) => c.state === "ack").length, "events", log.events.length, "other", log.otherLines.length);
  const out = await writer.stopAndVerify();
  console.log("verdict", out.verdict.acknowledged, out.verdict.violations, "rows", out.rows.length);
} finally {
  await cluster.stop();
}
