/**
 * The live conformance run: the manifests judged statically first (their
 * findings go along in the reports), the cluster named or started, then the
 * cluster suites through vitest, once per engine, with the reports side by
 * side when there are several.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { uncordonRun } from "../conformance/node-failure.ts";
import { assertReachable, type Kube } from "../kube/client.ts";
import { connectKubeconfig, readKubeconfig } from "../kube/kubeconfig.ts";
import { anyRunSelector, deleteNamespacesLabelled, runSelector } from "../kube/namespace.ts";
import { waitFor } from "../kube/wait.ts";
import { loadManifests, ManifestError } from "../manifests/load.ts";
import { secretValues } from "../manifests/secrets.ts";
import { checkObjects, formatFinding } from "../manifests/static-check.ts";
import { storageClassDeviation, withStorageClass } from "../manifests/storage-class.ts";
import type { Engine } from "../mysql/engines.ts";
import { projectRoot } from "../paths.ts";
import type { RunResults } from "../report/results.ts";
import { reportsDirProblem, writeEngineComparison } from "../report/write.ts";
import type { RunSettings } from "../run/settings.ts";
import { pollIntervals, timeouts } from "../timeouts.ts";
import { UsageError, type CommandIo } from "./command.ts";
import { onInterrupt } from "./interrupt.ts";
import { addSecrets, knownSecrets } from "./redacted-output.ts";
import { newRunId } from "./run-id.ts";
import type { RunOptions } from "./run-options.ts";
import { findingsAsChecks } from "./static-results.ts";

/** Reads a kubeconfig without ever printing it, its credentials redacted from all output, and checks the cluster answers. */
async function connectTo(path: string): Promise<Kube> {
  try {
    const loaded = readKubeconfig(path);
    addSecrets(loaded.secrets);
    const kube = connectKubeconfig(loaded);
    await assertReachable(kube, path);
    return kube;
  } catch (error) {
    // A named cluster that cannot be reached (or read) is bad input: one line, exit 2, before anything starts.
    throw new UsageError((error as Error).message);
  }
}

export async function liveRun(options: RunOptions, baseSettings: RunSettings, io: CommandIo): Promise<number> {
  const { reportsDir, storageClass } = options;
  // Checked before the run: a verdict must never be followed by a crash writing it.
  const reportsProblem = reportsDirProblem(reportsDir);
  if (reportsProblem) throw new UsageError(`--reports ${reportsProblem}`, "name a folder that can be written");
  let objects;
  try {
    objects = loadManifests(options.manifestsDir);
  } catch (error) {
    if (error instanceof ManifestError) throw new UsageError(error.message);
    throw error;
  }
  // From here on every line printed (ours, vitest's, the suites') is redacted.
  addSecrets(secretValues(objects));
  const findings = checkObjects(storageClass === undefined ? objects : withStorageClass(objects, storageClass), {
    dataDir: baseSettings.dataDir,
    minStorage: baseSettings.minStorage,
  });
  const deviations = storageClass === undefined ? [] : [storageClassDeviation(objects, storageClass)];
  for (const deviation of deviations) io.err(`deviation: ${deviation}`);
  for (const f of findings.filter((f) => f.severity !== "info")) io.err(formatFinding(f));
  const staticErrors = findings.filter((f) => f.severity === "error").length;

  const runId = newRunId();
  // The suites read the run's settings from vitest's provide, not from the environment.
  const settings: RunSettings = {
    ...baseSettings,
    manifestsDir: options.manifestsDir,
    runId,
    suites: options.suites,
    disruptive: options.disruptive,
    expectations: options.expectations,
    ...(storageClass !== undefined ? { storageClass } : {}),
  };
  delete settings.kubeconfig;
  let runInFlight = runId; // the engine's run, for Ctrl-C
  if (options.kubeconfig) {
    const kube = await connectTo(options.kubeconfig);
    settings.kubeconfig = options.kubeconfig;
    // Ctrl-C: the check in flight is stopped, and every namespace of this run deleted before exiting.
    // (On the embedded cluster the run's reaper removes the whole node instead.)
    onInterrupt(async (signal) => {
      const selector = runSelector(runInFlight);
      process.stderr.write(`\n${signal}: deleting this run's namespaces (${selector}) before exiting\n`);
      // Two passes a second apart: a namespace whose creation was in flight at the first is found by the second.
      let passes = 0;
      await waitFor(
        async () => {
          for (const ns of await deleteNamespacesLabelled(kube, selector))
            process.stderr.write(`  deleted namespace ${ns.name}${ns.note ? ` (${ns.note})` : ""}\n`);
          return ++passes;
        },
        (done) => done >= 2,
        { what: `the second pass over this run's namespaces (${selector})`, timeoutMs: timeouts.apiRequestMs * 2, intervalMs: pollIntervals.slowMs },
      );
      // A drain in flight (only with --disruptive): the node it cordoned is schedulable again.
      if (options.disruptive) for (const node of await uncordonRun(kube, runInFlight)) process.stderr.write(`  uncordoned node ${node}\n`);
    }, timeouts.apiRequestMs * 2);
  }

  // The embedded cluster runs in Docker: an engine that answers, or (Debian, root) one installed and started, as npm run conformance does.
  if (!options.kubeconfig) ensureDocker();

  // Loaded only for a live run: the static checks need neither vitest nor Docker.
  const { startVitest } = await import("vitest/node");
  let failedRuns = 0;
  const perEngine: { engine: Engine; results?: RunResults }[] = [];
  for (const engine of options.engines) {
    // With several engines each run has reports of its own, and the side-by-side report the run id.
    const engineRunId = options.engines.length > 1 ? `${runId}-${engine}` : runId;
    runInFlight = engineRunId;
    const runSettings: RunSettings = { ...settings, runId: engineRunId, engine };
    if (options.engines.length > 1) io.err(`\n=== engine ${engine} (${options.engines.indexOf(engine) + 1} of ${options.engines.length}) ===`);
    // The suites that judge the manifests (the `cluster` project); the self-tests
    // (suites/self: broken manifests, the operator commands) belong to `npm test` only.
    // The reporter gets its settings and the secrets to redact through vitest's
    // provide, not through the environment (which every worker process would inherit).
    const reportSettings = { reportsDir, secrets: knownSecrets(), staticChecks: findingsAsChecks(findings), deviations };
    const vitest = await startVitest(
      "test",
      options.suites.map((n) => `suites/cluster/${n}.test.ts`),
      {
        project: ["cluster"],
        watch: false,
        root: projectRoot,
        provide: { reportSettings, runSettings },
      },
    );
    const failed = vitest.state.getCountOfFailedTests() + vitest.state.getUnhandledErrors().length;
    // The cluster did not start, or a manifest did not load: said once by the global setup, a failed run.
    const failedSetup = Boolean(vitest.projects.find((p) => p.name === "cluster")?.getProvidedContext().clusterError);
    process.exitCode = undefined;
    await vitest.close();
    if (failed > 0 || failedSetup) failedRuns++;
    perEngine.push({ engine, results: readResults(join(reportsDir, engineRunId, "results.json")) });
  }
  if (options.engines.length > 1) {
    const dir = await writeEngineComparison(reportsDir, runId, perEngine, settings.stepSummary ? { stepSummary: settings.stepSummary } : {});
    io.err(`engines side by side: ${dir} (and ${reportsDir}/latest)`);
  }
  return failedRuns > 0 || staticErrors > 0 ? 1 : 0;
}

/** scripts/ensure-docker.sh: a Docker engine answers afterwards, or the one line that says why none can. */
function ensureDocker(): void {
  const ran = spawnSync("bash", [`${projectRoot}/scripts/ensure-docker.sh`], { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  process.stderr.write(
    ran.stderr
      .split("\n")
      .filter((l) => l && !/ error: /.test(l))
      .map((l) => `${l}\n`)
      .join(""),
  );
  if (ran.status !== 0) {
    const reason = /error: (.*)$/m.exec(ran.stderr)?.[1] ?? `scripts/ensure-docker.sh exited ${ran.status ?? ran.signal}`;
    throw new UsageError(`the embedded cluster needs Docker: ${reason}`, "or name a cluster with --kubeconfig FILE");
  }
}

function readResults(file: string): RunResults | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as RunResults;
  } catch {
    return undefined;
  }
}

/** --cleanup: deletes, by label, every namespace earlier runs left on the cluster, listing each. */
export async function cleanup(kubeconfigPath: string | undefined, io: CommandIo): Promise<number> {
  if (!kubeconfigPath) throw new UsageError("--cleanup needs the cluster", "pass --kubeconfig FILE or set KUBECONFIG (an embedded cluster goes with its run)");
  const kube = await connectTo(kubeconfigPath);
  const removed = await deleteNamespacesLabelled(kube, anyRunSelector);
  for (const ns of removed) io.out(`deleted namespace ${ns.name} (run ${ns.run}, created ${ns.created})${ns.note ? ` (${ns.note})` : ""}`);
  io.out(
    removed.length
      ? `${removed.length} namespace${removed.length > 1 ? "s" : ""} left by earlier runs deleted on ${kube.server} (${anyRunSelector})`
      : `no namespace left by earlier runs on ${kube.server} (${anyRunSelector})`,
  );
  return 0;
}
