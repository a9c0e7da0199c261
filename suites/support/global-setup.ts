import { removeSeeds } from "../../src/conformance/seed.ts";
import type { TestProject } from "vitest/node";
import { newRunId, startCluster, type Cluster } from "../../src/cluster/index.ts";
import { pinnedVersions } from "../../src/cluster/images.ts";
import { nodesSuiteAgents, startMultiNodeCluster } from "../../src/cluster/multi-node.ts";
import { provideStandardStorageClass } from "../../src/conformance/cluster-setup.ts";
import { engineImage } from "../../src/mysql/engines.ts";
import { assertReachable, connect } from "../../src/kube/client.ts";
import { loadManifests } from "../../src/manifests/load.ts";
import { secretValues } from "../../src/manifests/secrets.ts";
import { applyRunSettings, readRunSettings, type RunSettings } from "../../src/run/settings.ts";
import type { RunFacts } from "./context.ts";
import "./context.ts";

/** The run's cluster, shared by every project that uses it (cluster, self-tests): started once, stopped after the last. */
interface SharedRun {
  started: Promise<
    { info: Omit<Cluster, "stop" | "restartNode" | "waitForAllImages">; facts: RunFacts; secrets: string[]; stop: () => Promise<void> } | { error: string }
  >;
  users: number;
}
const shared = globalThis as typeof globalThis & { __storageConformanceRun?: SharedRun };

/**
 * Starts (or connects to) the one cluster every cluster suite uses, and stops
 * it after the run. Bad input fails here, once: a manifest directory that does
 * not load (under a bare `npm test`; the conformance command loads them before
 * it starts vitest), a timeout override that does not exist, a cluster not reachable.
 * Every project that names this file gets the same cluster (global setups run
 * in vitest's main process, one after the other, before any test).
 */
export default async function setup(project: TestProject) {
  // The conformance command provides the settings; a bare `npm test` has only its environment.
  let settings: RunSettings;
  try {
    settings = project.getProvidedContext().runSettings ?? readRunSettings();
  } catch (error) {
    const message = (error as Error).message;
    process.stderr.write(`\nstorage-conformance: the cluster checks cannot run: ${message}\n\n`);
    project.provide("clusterError", message);
    return undefined;
  }
  applyRunSettings(settings);
  project.provide("runSettings", settings);
  shared.__storageConformanceRun ??= {
    users: 0,
    started: startRun(settings, project.getProvidedContext().reportSettings !== undefined).catch((error: unknown) => {
      // Said once here, then by every cluster check (the reports list each as
      // failed, with this cause); the unit tests still run.
      const message = (error as Error).message ?? String(error);
      process.stderr.write(`\nstorage-conformance: the cluster checks cannot run: ${message}\n\n`);
      return { error: message };
    }),
  };
  const run = shared.__storageConformanceRun;
  run.users++;
  const started = await run.started;
  if ("error" in started) {
    project.provide("clusterError", started.error);
    return undefined;
  }
  project.provide("cluster", started.info);
  project.provide("runFacts", started.facts);
  project.provide("secrets", started.secrets);
  return async () => {
    if (--run.users === 0) {
      delete shared.__storageConformanceRun;
      await started.stop();
    }
  };
}

async function startRun(settings: RunSettings, fromCommand: boolean) {
  const { manifestsDir, engine } = settings;
  // The conformance command loaded the manifests before it started vitest (one
  // that does not load is its exit 2) and hands their secret values to the
  // reporter in reportSettings.secrets; a bare `npm test` loads them here, once,
  // so that bad manifests fail before a cluster starts and the reports redact them.
  const secrets = fromCommand ? [] : secretValues(loadManifests(manifestsDir));

  // A run of the nodes suite alone starts the cluster of three nodes it needs at once.
  const onlyNodes = settings.suites.length === 1 && settings.suites[0] === "nodes" && !settings.kubeconfig;
  const cluster: Cluster = onlyNodes
    ? await startMultiNodeCluster(settings.runId ?? newRunId(), nodesSuiteAgents, settings.clusterImage)
    : await startCluster({ kubeconfig: settings.kubeconfig, runId: settings.runId, image: settings.clusterImage });
  try {
    const kube = connect(cluster.kubeconfig);
    const serverVersion = await assertReachable(kube, cluster.origin);
    if (cluster.kind === "k3s") await provideStandardStorageClass(kube);
    if (engineImage(engine, pinnedVersions())) await cluster.waitForAllImages?.();
    const facts: RunFacts = {
      runId: cluster.runId,
      manifestsDir,
      cluster: {
        kind: cluster.kind,
        origin: cluster.origin,
        serverVersion,
        image: cluster.image?.image,
        imageSource: cluster.image?.source,
        imageReason: cluster.image?.reason,
        privileged: cluster.privileged?.detail,
        startSeconds: cluster.startSeconds,
        offlineEngines: cluster.image?.engines,
      },
      engine: { name: engine, image: engineImage(engine, pinnedVersions()) },
      timeoutOverrides: settings.timeoutOverrides,
    };
    const { stop: _stop, restartNode: _restart, waitForAllImages: _images, ...info } = cluster;
    printBanner(facts);
    return {
      info,
      facts,
      secrets,
      stop: async () => {
        removeSeeds(cluster.runId);
        await cluster.stop();
      },
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

function printBanner(facts: RunFacts): void {
  const c = facts.cluster;
  const lines = [
    `storage-conformance run ${facts.runId}`,
    `  cluster:   ${c.kind} ${c.serverVersion} via ${c.origin}${c.startSeconds ? ` (started in ${c.startSeconds.toFixed(1)} s)` : ""}`,
    ...(c.imageReason ? [`  image:     ${c.image} (${c.imageReason})`] : []),
    ...(c.privileged ? [`  node mode: ${c.privileged}`] : []),
    ...(c.offlineEngines ? [`  databases: ${c.offlineEngines}`] : []),
    `  engine:    ${facts.engine.name}${facts.engine.image ? ` (the database container runs ${facts.engine.image} instead of the manifests' image)` : " (the manifests' own image)"}`,
    `  manifests: ${facts.manifestsDir}`,
    ...(facts.timeoutOverrides.length ? [`  timeouts:  ${facts.timeoutOverrides.join(" ")}`] : []),
  ];
  process.stderr.write(`${lines.join("\n")}\n`);
}
