import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { assertReachable, type Kube } from "../kube/client.ts";
import { connectKubeconfig, KubeconfigError, readKubeconfig } from "../kube/kubeconfig.ts";
import { anyRunSelector, deleteNamespacesLabelled, runSelector } from "../kube/namespace.ts";
import { loadManifests, ManifestError } from "../manifests/load.ts";
import { secretValues } from "../manifests/secrets.ts";
import { checkObjects, formatFinding } from "../manifests/static-check.ts";
import { storageClassDeviation, validClassName, withStorageClass } from "../manifests/storage-class.ts";
import type { Finding } from "../manifests/rules.ts";
import { projectRoot } from "../paths.ts";
import { summarise, type RunResults } from "../report/results.ts";
import { reportsDirProblem, writeEngineComparison, writeReports } from "../report/write.ts";
import { parseEngineOption, type Engine } from "../mysql/engines.ts";
import { uncordonRun } from "../conformance/node-failure.ts";
import { pollIntervals, timeouts } from "../timeouts.ts";
import { waitFor } from "../kube/wait.ts";
import { describeArgsError } from "./args.ts";
import { onInterrupt } from "./interrupt.ts";
import { addSecrets, knownSecrets } from "./redacted-output.ts";
import { findingsAsChecks } from "./static-results.ts";
import { parseExpectation } from "../run/expectations.ts";
import { applyRunSettings, readRunSettings, readToolSettings, type RunSettings } from "../run/settings.ts";

const usage = `usage: npm run conformance -- [options]

Runs the conformance suites against the storage manifests and writes
reports/<run>/ (and reports/latest/): results.json. Exits non-zero when a check fails.

  --manifests DIR    manifests under test (default: manifests/, or SC_MANIFESTS)
  --kubeconfig FILE  use this cluster (default: KUBECONFIG; without either,
                     a k3s node is started in Docker and removed afterwards)
  --reports DIR      where reports go (default: reports/); checked before the run
  --storage-class NAME
                     apply every claim with this StorageClass (the cluster's
                     own, e.g. local-path on k3s, gp3 on EKS) instead of the
                     manifests'; every report records it as a deviation
  --static-only      only the checks that need no cluster (schema, storage
                     rules); no Docker needed. Prints FILE:LINE RULE SEVERITY MESSAGE
  --format FORMAT    text (default) or json, for --static-only
  --engine ENGINE    mysql (default: the image the manifests name), mariadb
                     (only the database container's image becomes mariadb:<line>),
                     or all (one run per engine, reports side by side)
  --suite NAME[,NAME]  only these suites: ${suiteNames().join(", ")}
                     (nodes, the node failures, runs only when named: it starts
                     a cluster of three nodes and takes about 12 minutes)
  --disruptive       on a --kubeconfig cluster, let the nodes suite drain a
                     node (cordon, evict MySQL, uncordon; undone on failure
                     and Ctrl-C); a node loss never runs there
  --expect 'NAME<=N' a threshold on a performance value (repeatable; operators
                     <= >= < > =), e.g. --expect 'fio_fsync_p99_ms<=10': the
                     performance suite's expectations check fails, saying which
                     missed and by how much; without it the suite only reports
  --cleanup          delete the namespaces earlier runs left on the cluster
                     (--kubeconfig or KUBECONFIG), by label, listing each;
                     not while another run uses that cluster
  -h, --help         this text

Ctrl-C (or SIGTERM) during a run deletes this run's namespaces before exiting.

Environment: K3S_IMAGE (k3s image to run), SC_OFFLINE=1 (skip the pull, use the
offline image), SC_TIMEOUT_<NAME>_MS (deadlines, see src/timeouts.ts),
SC_PERF_PROFILE=short|long (the performance suite's measuring: short, the
default, about 45 s; long, the nightly's), SC_BENCH_IMAGE (an image with fio
and sysbench a --kubeconfig cluster can run), KEEP_NAMESPACES=1 (keep each check's namespace for debugging).`;

function newRunId(): string {
  return `${new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}-${Math.random().toString(16).slice(2, 8)}`;
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        manifests: { type: "string" },
        kubeconfig: { type: "string" },
        reports: { type: "string" },
        "static-only": { type: "boolean" },
        format: { type: "string" },
        engine: { type: "string" },
        suite: { type: "string" },
        "storage-class": { type: "string" },
        cleanup: { type: "boolean" },
        disruptive: { type: "boolean" },
        expect: { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
    }).values;
  } catch (error) {
    console.error(`${describeArgsError(error)}\n\n${usage}`);
    return 2;
  }
  if (args.help) {
    console.log(usage);
    return 0;
  }
  if (args.cleanup) {
    let kubeconfig: string | undefined;
    try {
      ({ kubeconfig } = readToolSettings());
    } catch (error) {
      console.error(`error: ${(error as Error).message}`);
      return 2;
    }
    return cleanup(args.kubeconfig ?? kubeconfig);
  }
  const reportsDir = resolve(args.reports ?? `${projectRoot}/reports`);
  const storageClass = args["storage-class"];
  const runId = newRunId();
  let findings: Finding[];
  let engines: Engine[];
  let suites: string[];
  const deviations: string[] = [];
  let settings: RunSettings;
  let manifestsDir: string;
  let kubeconfigPath: string | undefined;
  try {
    settings = readRunSettings();
    applyRunSettings(settings);
    manifestsDir = args.manifests === undefined ? settings.manifestsDir : resolve(args.manifests);
    kubeconfigPath = args.kubeconfig ?? settings.kubeconfig;
    engines = parseEngineOption(args.engine);
    suites = namedSuites(args.suite);
    if (args.format !== undefined && args.format !== "text" && args.format !== "json") throw new Error(`--format ${args.format} is not text or json`);
    if (storageClass !== undefined && !validClassName(storageClass))
      throw new Error(`--storage-class ${JSON.stringify(storageClass)} is not a StorageClass name (lowercase letters, digits, - and .)`);
    // Checked before the run: a verdict must never be followed by a crash writing it.
    const reportsProblem = reportsDirProblem(reportsDir);
    if (reportsProblem) throw new Error(`--reports ${reportsProblem}; name a folder that can be written`);
    const objects = loadManifests(manifestsDir);
    // From here on every line printed (ours, vitest's, the suites') is redacted.
    addSecrets(secretValues(objects));
    // The manifests are judged as the run applies them: with --storage-class, on that class.
    const ruleOptions = { dataDir: settings.dataDir, minStorage: settings.minStorage };
    findings = checkObjects(storageClass === undefined ? objects : withStorageClass(objects, storageClass), ruleOptions);
    if (storageClass !== undefined) deviations.push(storageClassDeviation(objects, storageClass));
    // --expect wins; without it, SC_EXPECT's (parsed with the other variables).
    if (args.expect?.length) settings.expectations = args.expect.map(parseExpectation);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 2;
  }
  const staticErrors = findings.filter((f) => f.severity === "error").length;
  for (const deviation of deviations) console.error(`deviation: ${deviation}`);
  if (args["static-only"]) {
    if (args.format === "json") console.log(JSON.stringify({ manifestsDir, findings, ...(deviations.length ? { deviations } : {}) }, null, 2));
    else {
      for (const f of findings) console.log(formatFinding(f));
      console.log(`${findings.length} findings: ${staticErrors} errors, ${findings.filter((f) => f.severity === "warning").length} warnings`);
    }
    const checks = findingsAsChecks(findings);
    const now = new Date().toISOString();
    const results: RunResults = {
      runId,
      startedAt: now,
      finishedAt: now,
      durationS: 0,
      manifestsDir,
      timeoutOverrides: [],
      ...(deviations.length ? { deviations } : {}),
      summary: summarise(checks),
      checks,
    };
    await writeReports(reportsDir, results, { stepSummary: settings.stepSummary });
    return staticErrors > 0 ? 1 : 0;
  }
  for (const f of findings.filter((f) => f.severity !== "info")) console.error(formatFinding(f));
  // The suites read the run's settings from vitest's provide, not from the environment.
  settings = {
    ...settings,
    manifestsDir,
    runId,
    suites,
    disruptive: Boolean(args.disruptive),
    ...(storageClass !== undefined ? { storageClass } : {}),
  };
  let runInFlight = runId; // the engine's run, for Ctrl-C
  if (kubeconfigPath) {
    // A named cluster that cannot be reached is bad input: one line, exit 2, before anything starts.
    let kube: Kube;
    try {
      kube = connectTo(resolve(kubeconfigPath));
      await assertReachable(kube, resolve(kubeconfigPath));
    } catch (error) {
      console.error(`error: ${(error as Error).message}`);
      return 2;
    }
    settings.kubeconfig = resolve(kubeconfigPath);
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
      if (args.disruptive) for (const node of await uncordonRun(kube, runInFlight)) process.stderr.write(`  uncordoned node ${node}\n`);
    }, timeouts.apiRequestMs * 2);
  }

  // Loaded only for a live run: --static-only needs neither vitest nor Docker.
  const { startVitest } = await import("vitest/node");
  let failedRuns = 0;
  const perEngine: { engine: Engine; results?: RunResults }[] = [];
  for (const engine of engines) {
    // With several engines each run has reports of its own, and the side-by-side report the run id.
    const engineRunId = engines.length > 1 ? `${runId}-${engine}` : runId;
    runInFlight = engineRunId;
    const runSettings: RunSettings = { ...settings, runId: engineRunId, engine };
    if (engines.length > 1) console.error(`\n=== engine ${engine} (${engines.indexOf(engine) + 1} of ${engines.length}) ===`);
    // The suites that judge the manifests (the `cluster` project); the self-tests
    // (suites/self: broken manifests, the operator commands) belong to `npm test` only.
    // The reporter gets its settings and the secrets to redact through vitest's
    // provide, not through the environment (which every worker process would inherit).
    const reportSettings = { reportsDir, secrets: knownSecrets(), staticChecks: findingsAsChecks(findings), deviations };
    const vitest = await startVitest(
      "test",
      suites.map((n) => `suites/cluster/${n}.test.ts`),
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
  if (engines.length > 1) {
    const dir = await writeEngineComparison(reportsDir, runId, perEngine, { stepSummary: settings.stepSummary });
    console.error(`engines side by side: ${dir} (and ${reportsDir}/latest)`);
  }
  return failedRuns > 0 || staticErrors > 0 ? 1 : 0;
}

/** The cluster suites a user may name with --suite (the self-tests are `npm test`'s). */
function suiteNames(): string[] {
  return readdirSync(join(projectRoot, "suites/cluster"))
    .filter((f) => f.endsWith(".test.ts"))
    .map((f) => f.replace(/\.test\.ts$/, ""))
    .sort();
}

/** `--suite a,b` as suite names, checked; none when absent (every suite: nodes then skips itself, it runs only when named). */
function namedSuites(option: string | undefined): string[] {
  if (option === undefined) return [];
  const known = suiteNames();
  const names = option
    .split(",")
    .map((n) => n.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !known.includes(n));
  if (names.length === 0 || unknown.length)
    throw new Error(`--suite ${option}: ${unknown.length ? `no suite named ${unknown.join(", ")}` : "names no suite"} (suites: ${known.join(", ")})`);
  return names;
}

function readResults(file: string): RunResults | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as RunResults;
  } catch {
    return undefined;
  }
}

/** Reads a kubeconfig without ever printing it, its credentials redacted from all output. */
function connectTo(path: string): Kube {
  const loaded = readKubeconfig(path);
  addSecrets(loaded.secrets);
  return connectKubeconfig(loaded);
}

/** --cleanup: deletes, by label, every namespace earlier runs left on the cluster, listing each. */
async function cleanup(kubeconfigPath: string | undefined): Promise<number> {
  if (!kubeconfigPath) {
    console.error("error: --cleanup needs the cluster: pass --kubeconfig FILE or set KUBECONFIG (an embedded cluster goes with its run)");
    return 2;
  }
  const path = resolve(kubeconfigPath);
  let kube: Kube;
  try {
    kube = connectTo(path);
    await assertReachable(kube, path);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 2;
  }
  const removed = await deleteNamespacesLabelled(kube, anyRunSelector);
  for (const ns of removed) console.log(`deleted namespace ${ns.name} (run ${ns.run}, created ${ns.created})${ns.note ? ` (${ns.note})` : ""}`);
  console.log(
    removed.length
      ? `${removed.length} namespace${removed.length > 1 ? "s" : ""} left by earlier runs deleted on ${kube.server} (${anyRunSelector})`
      : `no namespace left by earlier runs on ${kube.server} (${anyRunSelector})`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof ManifestError || error instanceof KubeconfigError ? `error: ${error.message}` : error);
    process.exit(1);
  },
);
