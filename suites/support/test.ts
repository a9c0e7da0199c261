import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, inject, onTestFailed, type RunnerTask, test as base, type TaskMeta } from "vitest";
import type { ClusterInfo } from "../../src/cluster/index.ts";
import { connect, type Kube } from "../../src/kube/client.ts";
import { collectDiagnostics } from "../../src/kube/diagnostics.ts";
import { nodeComponentLogs } from "../../src/cluster/node.ts";
import { createNamespace, deleteNamespace } from "../../src/kube/namespace.ts";
import { withDatabaseImage } from "../../src/manifests/workload.ts";
import { loadManifests, type LoadedObject } from "../../src/manifests/load.ts";
import { observeServerVersions } from "../../src/mysql/client.ts";
import { withStorageClass } from "../../src/manifests/storage-class.ts";
import { applyRunSettings, type RunSettings, runSettingsFromEnv } from "../../src/run/settings.ts";
import { timeouts } from "../../src/timeouts.ts";
import type { LedgerSummary } from "../../src/ledger/writer.ts";
import { DeployedSetup } from "../../src/design/deployment.ts";
import { deploySeeded, type SeededDeployment } from "../../src/conformance/seed.ts";
import type { TableChecksums } from "../../src/mysql/dataset.ts";
import type { MeasuredValue } from "./context.ts";
import { loadedOnce } from "./manifests-once.ts";
import { percentile } from "../../src/recovery/phases.ts";
import type { MeasuringCheck } from "../../src/run/expectations.ts";

/** Lines of each node component's log (kubelet, containerd, apiserver...) kept with a failed check. */
const nodeLogLines = 300;

export type Record_ = (name: string, value: MeasuredValue["value"], unit: string) => void;

/**
 * The run's settings (src/run/settings.ts), as the global setup provided them.
 * When it could not (a malformed setting is its clusterError), the defaults
 * let the files be collected: every check then fails on the cluster fixture with that cause.
 */
export function runSettings(): RunSettings {
  return inject("runSettings") ?? runSettingsFromEnv({});
}

// This worker's deadlines and data directory, from the run's settings (never from its environment).
applyRunSettings(runSettings());

/**
 * The other checks of `task`'s file, finished or not, with the values they
 * recorded: what a check that judges measured values reads (never module state
 * filled by whichever test ran before it).
 */
export function otherChecksOf(task: RunnerTask): MeasuringCheck[] {
  const all = (tasks: RunnerTask[]): RunnerTask[] => tasks.flatMap((t) => (t.type === "suite" ? all(t.tasks) : [t]));
  return all(task.file.tasks)
    .filter((t) => t.id !== task.id)
    .map((t) => ({
      name: t.name,
      finished: t.mode === "skip" || t.mode === "todo" || ["pass", "fail", "skip", "todo"].includes(t.result?.state ?? ""),
      values: t.meta.values ?? {},
    }));
}

/** Records named values (a helper's `{ name: { value, unit } }`) in their order. */
export function recordValues(record: Record_, values: Record<string, MeasuredValue>): void {
  for (const [name, { value, unit }] of Object.entries(values)) record(name, value, unit);
}

/**
 * The run's cluster, as the global setup provided it; throws its one cause when
 * the global setup could not start or reach it (the fixtures of every cluster check).
 */
export function runCluster(): ClusterInfo {
  const failure = inject("clusterError");
  if (failure) {
    const error = new Error(`the cluster checks cannot run: ${failure}`);
    error.stack = error.message; // the cause is the message; a stack into the fixture says nothing more
    throw error;
  }
  return inject("cluster");
}

/** Records a series of seconds as `<prefix>_p50_s`, `<prefix>_p95_s` and `<prefix>_max_s`. */
export function recordSpread(record: Record_, prefix: string, seconds: number[]): void {
  record(`${prefix}_p50_s`, percentile(seconds, 50), "s");
  record(`${prefix}_p95_s`, percentile(seconds, 95), "s");
  record(`${prefix}_max_s`, seconds.length ? Math.max(...seconds) : Number.NaN, "s");
}

/**
 * Manifests from a directory with the database image of the run's engine
 * (--engine) swapped in and, when given, every claim on a StorageClass:
 * parsed once per worker, a copy for each caller.
 */
const manifestsAsRun = loadedOnce(({ dir, image, storageClass }) => {
  const forEngine = withDatabaseImage(loadManifests(dir), image);
  return storageClass ? withStorageClass(forEngine, storageClass) : forEngine;
});

/** Manifests from `dir`, with the database image of the run's engine (--engine) swapped in (a copy; parsed once per worker). */
export function loadForEngine(dir: string): LoadedObject[] {
  return manifestsAsRun({ dir, image: inject("runFacts").engine.image });
}

/**
 * The fixtures every cluster check uses: the cluster, API clients, the
 * manifests under test, a fresh namespace (diagnosed when the check failed,
 * then deleted unless KEEP_NAMESPACES=1), and `record` for measured values.
 */
export const test = base.extend<{
  cluster: ClusterInfo;
  kube: Kube;
  manifests: LoadedObject[];
  namespace: string;
  /** A second namespace of the run, for a setup restored from the first one's backup; diagnosed and deleted like `namespace`. */
  freshNamespace: string;
  /** A local folder for the check's files (dumps), removed afterwards. */
  workDir: string;
  record: Record_;
  /** Records a ledger run's values and findings on the check, and its timeline (charted in the HTML report). */
  reportLedger: (ledger: LedgerSummary) => void;
  /** Records `server_version` on every check that talked to MySQL (automatic). */
  serverVersion: void;
  /** A fact worth reading that is not a failure (e.g. where the design and the cluster differ). */
  note: (text: string) => void;
  /**
   * Deploys the manifests (or `objects`) into `namespace` and waits for MySQL to be Ready, on a copy
   * of the run's first initialised data directory where there is one (src/conformance/seed.ts):
   * for checks whose subject is not MySQL's initialisation. Records how each data directory came to be.
   */
  deployFresh: (namespace: string, objects?: LoadedObject[]) => Promise<DeployedSetup>;
}>({
  cluster: async ({}, use) => use(runCluster()),
  // A check's timeout (or Ctrl-C) aborts its signal, which ends every wait made through this client.
  kube: async ({ cluster, signal }, use) => use(connect(cluster.kubeconfig, { signal })),
  // --engine swaps the database image; --storage-class NAME applies the claims with the
  // cluster's class (recorded as a deviation in every report).
  manifests: async ({}, use) => {
    const { manifestsDir, engine } = inject("runFacts");
    await use(manifestsAsRun({ dir: manifestsDir, image: engine.image, storageClass: runSettings().storageClass }));
  },
  namespace: async ({ kube, cluster, task }, use) => {
    const purpose = (task.file?.name ?? "check").replace(/^.*\//, "").replace(/\.test\.ts$/, "");
    await inNamespace(kube, purpose, cluster, task, use);
  },
  freshNamespace: async ({ kube, cluster, task }, use) => inNamespace(kube, "restore", cluster, task, use),
  workDir: async ({}, use) => {
    const dir = mkdtempSync(join(tmpdir(), "sc-check-"));
    try {
      await use(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  note: async ({ task }, use) =>
    use((text) => {
      task.meta.notes = [...(task.meta.notes ?? []), text];
    }),
  serverVersion: [
    async ({ task }, use) => {
      const seen = new Set<string>();
      const stop = observeServerVersions((version) => seen.add(version));
      try {
        await use();
      } finally {
        stop();
        if (seen.size) task.meta.values = { ...task.meta.values, server_version: { value: [...seen].join(", "), unit: "" } };
      }
    },
    { auto: true },
  ],
  reportLedger: async ({ task, record, note }, use) =>
    use((ledger) => {
      recordValues(record, ledger.values);
      ledger.notes.forEach(note);
      task.meta.timeline = ledger.timeline;
      // A red ledger's evidence goes into the check's failure folder, beside the namespace's diagnostics.
      if (ledger.evidenceFiles) task.meta.diagnosticFiles = { ...task.meta.diagnosticFiles, ...ledger.evidenceFiles };
    }),
  deployFresh: async ({ kube, cluster, manifests, record }, use) => {
    let deployments = 0;
    await use(async (namespace, objects = manifests) => {
      const { setup, dataDirFrom } = await deploySeeded(kube, namespace, objects, cluster.runId);
      deployments++;
      record(deployments === 1 ? "data_dir_from" : `data_dir_from_${deployments}`, dataDirFrom, "");
      return setup;
    });
  },
  record: async ({ task }, use) =>
    use((name, value, unit) => {
      task.meta.values = { ...task.meta.values, [name]: { value, unit } };
    }),
});

/**
 * A namespace of the run for one check: diagnosed when the check failed (fixture
 * teardown runs before onTestFailed hooks, so here, before deleting), then
 * deleted unless KEEP_NAMESPACES=1.
 */
async function inNamespace(
  kube: Kube,
  purpose: string,
  cluster: ClusterInfo,
  task: { result?: { state?: string }; meta: TaskMeta },
  use: (namespace: string) => Promise<void>,
): Promise<void> {
  const { runId, nodeContainerId } = cluster;
  const namespace = await createNamespace(kube, purpose, runId);
  try {
    await use(namespace);
  } finally {
    if (task.result?.state === "fail") await diagnoseInto(task, kube, namespace, nodeContainerId);
    if (runSettings().keepNamespaces) console.error(`KEEP_NAMESPACES=1: namespace ${namespace} kept`);
    else await deleteNamespace(kube, namespace, { wait: false, timeoutMs: timeouts.namespaceDeletedMs });
  }
}

/**
 * A failed check's diagnostics: the namespace's summary on the check (and on
 * stderr), and the files behind it (events, objects, every container's log,
 * and on the embedded cluster the node's own component logs under node/), which
 * the reports write into the check's folder under failures/.
 */
async function diagnoseInto(task: { meta: TaskMeta }, kube: Kube, namespace: string, nodeContainerId?: string): Promise<void> {
  const diagnostics = await collectDiagnostics(kube, namespace).catch((e: Error) => ({ summary: `(diagnostics failed: ${e.message})`, files: {} }));
  const prefix = Object.keys(task.meta.diagnosticFiles ?? {}).length ? `${namespace}/` : "";
  const files: Record<string, string> = { ...task.meta.diagnosticFiles };
  for (const [name, text] of Object.entries(diagnostics.files)) files[`${prefix}${name}`] = text;
  if (nodeContainerId) {
    const logs = await nodeComponentLogs(nodeContainerId, nodeLogLines).catch((e: Error) => ({
      "unavailable.txt": `the node's logs could not be read: ${e.message}`,
    }));
    for (const [name, text] of Object.entries(logs)) files[`node/${name}`] = text;
  }
  task.meta.diagnostics = [task.meta.diagnostics, diagnostics.summary].filter(Boolean).join("\n\n");
  task.meta.diagnosticFiles = files;
  console.error(diagnostics.summary);
}

/** The design deployed once, with the ecomdb dataset loaded (unless asked not to), for the checks of one file. */
export interface SharedDesign {
  setup: DeployedSetup;
  /** Counts and checksums of the dataset as loaded. */
  before: TableChecksums;
  loadSeconds: number;
  /** How the data directory came to be (src/conformance/seed.ts). */
  dataDirFrom: SeededDeployment["dataDirFrom"];
}

/**
 * One deployment of the design shared by the checks of a file, in the order they
 * are declared: each MySQL deployment costs its initialisation (10-20 s on two
 * cores), and a real database lives through one disruption after another. Each
 * check still verifies the dataset and its own ledger; a failed check gets the
 * namespace's diagnostics; the namespace is deleted after the file (unless
 * KEEP_NAMESPACES=1). Call inside a test, with its fixtures. With `fresh`, the
 * image initialises the data directory (no copy of the run's first).
 */
export function designPerFile(
  purpose: string,
  options: { dataset: boolean; fresh?: boolean } = { dataset: true },
): (fixtures: { kube: Kube; manifests: LoadedObject[]; cluster: ClusterInfo }) => Promise<SharedDesign> {
  type Entry = { kube: Kube; namespace?: string; design?: Promise<SharedDesign>; dataDirFrom?: string };
  let shared: Entry | undefined;
  afterAll(async () => {
    const namespace = shared?.namespace;
    if (!shared || !namespace) return;
    if (runSettings().keepNamespaces) console.error(`KEEP_NAMESPACES=1: namespace ${namespace} kept`);
    else await deleteNamespace(shared.kube, namespace, { wait: false, timeoutMs: timeouts.namespaceDeletedMs });
  });
  return ({ kube, manifests, cluster }) => {
    shared ??= { kube };
    const entry: Entry = shared;
    entry.design ??= (async () => {
      entry.namespace = await createNamespace(kube, purpose, cluster.runId);
      // fresh: initialised by the image, never a copy of the run's seed (a check of what initialisation
      // makes, such as an encrypted data directory and its keyring, which a copy would not carry).
      const { setup, dataDirFrom } = options.fresh
        ? await DeployedSetup.deploy(kube, entry.namespace, manifests).then(async (setup) => {
            await setup.waitForReadyPod();
            return { setup, dataDirFrom: "initialised by the image" as const };
          })
        : await deploySeeded(kube, entry.namespace, manifests, cluster.runId);
      entry.dataDirFrom = dataDirFrom;
      if (!options.dataset) return { setup, before: {}, loadSeconds: 0, dataDirFrom };
      const { checksums, seconds } = await setup.loadDataset();
      return { setup, before: checksums, loadSeconds: seconds, dataDirFrom };
    })();
    onTestFailed(async ({ task }) => {
      if (entry.namespace) await diagnoseInto(task, entry.kube, entry.namespace, cluster.nodeContainerId);
    });
    return entry.design;
  };
}

export { describe, expect } from "vitest";
