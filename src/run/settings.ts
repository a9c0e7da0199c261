// The run's settings as one typed value, and the only reader of the
// environment in src/ (test/unit/settings.test.ts fails on any other). The
// conformance command builds it from its options over the environment and
// hands it to vitest with `provide`; `npm test` (no command in front) builds
// it from the environment, the only interface a bare vitest run has; the
// operator commands read the part they use (`readToolSettings`). Either way it
// is parsed and checked here, once, before the cluster starts: a malformed
// value is one line naming the variable, not a failed check ten minutes in.
// Lower layers take what they need as parameters; the two process-wide
// tables (the deadlines of src/timeouts.ts, the data directory the workload is
// found by) are filled once per process by `applyRunSettings`.
import { join, resolve } from "node:path";
import { defaultDataDir, useDataDir } from "../manifests/workload.ts";
import { parseQuantity } from "../manifests/quantity.ts";
import { type Engine, engineNames } from "../mysql/engines.ts";
import { loadTimeouts, type Timeouts, useTimeouts } from "../timeouts.ts";
import { type Expectation, parseExpectation } from "./expectations.ts";
import { type PerfProfile, perfProfile } from "./perf-profile.ts";

/**
 * Every environment variable the suite reads, as the table of variables in
 * docs/configuration.md lists them (test/unit/settings.test.ts compares the two).
 * `SC_TIMEOUT_<NAME>_MS` stands for one variable per deadline of src/timeouts.ts.
 */
export const environmentVariables = [
  "KUBECONFIG",
  "K3S_IMAGE",
  "SC_OFFLINE",
  "SC_MANIFESTS",
  "SC_ENGINE",
  "SC_SUITES",
  "SC_RUN_ID",
  "SC_DISRUPTIVE",
  "SC_EXPECT",
  "SC_RECOVERY_CYCLES",
  "SC_ROLLOUT_CYCLES",
  "SC_CRASH_CYCLES",
  "SC_CRASH_SERIES",
  "SC_CRASH_INTERVAL_S",
  "SC_NODE_RESTART_CYCLES",
  "SC_POWER_CUTS",
  "SC_POWER_CUT_MODE",
  "SC_NODE_LOSS_TOLERATION_S",
  "SC_LEDGER_RATE",
  "SC_LEDGER_CONNECTIONS",
  "SC_PERF_PROFILE",
  "SC_BENCH_IMAGE",
  "SC_TIMEOUT_<NAME>_MS",
  "SC_DATA_DIR",
  "SC_MIN_STORAGE",
  "KEEP_NAMESPACES",
  "SC_REPORTS_DIR",
  "GITHUB_STEP_SUMMARY",
  "GITHUB_ACTIONS",
] as const;
type Variable = Exclude<(typeof environmentVariables)[number], "SC_TIMEOUT_<NAME>_MS">;
type Environment = Record<string, string | undefined>;

/** One declared variable of `env` (a name not in `environmentVariables` does not compile). */
const variable = (env: Environment, name: Variable): string | undefined => env[name];

/** The ledger writer's pace (SC_LEDGER_RATE, SC_LEDGER_CONNECTIONS): about 100 commits/s over 4 connections. */
export interface LedgerPace {
  connections: number;
  ratePerS: number;
  /** Where a red ledger's data-directory tarball goes (the run's report folder's evidence/); none without reports. */
  evidenceDir?: string;
}

/** What the operator commands use of the environment. */
export interface ToolSettings {
  /** KUBECONFIG (a command's --kubeconfig wins). */
  kubeconfig?: string;
  /** The deadlines, with SC_TIMEOUT_*_MS applied. */
  timeouts: Timeouts;
  /** The overrides as `SC_TIMEOUT_X_MS=N`, for the run's banner and reports. */
  timeoutOverrides: string[];
  ledger: LedgerPace;
  /** SC_DATA_DIR: where the workload keeps MySQL's data. */
  dataDir: string;
  /** GITHUB_STEP_SUMMARY: a file the summary is appended to. */
  stepSummary?: string;
  /** GITHUB_ACTIONS=true: static findings are also printed as the runner's annotations. */
  githubActions?: boolean;
}

export interface RunSettings extends ToolSettings {
  /** The manifests under test (absolute). */
  manifestsDir: string;
  /** Set by the conformance command; otherwise the cluster's start names the run. */
  runId?: string;
  engine: Engine;
  /** The suites named with --suite (empty: every suite). */
  suites: string[];
  /** --storage-class (the conformance command only: it checks the name and records the deviation): the design's claims are provisioned by this class instead. */
  storageClass?: string;
  /** --disruptive: the nodes suite may drain a node of a cluster it did not start. */
  disruptive: boolean;
  /** --expect thresholds (or SC_EXPECT's), parsed. */
  expectations: Expectation[];
  /** How many of each disruption a run causes (the nightly run raises them). */
  cycles: {
    /** SC_RECOVERY_CYCLES: pod deletions. */
    podDeletions: number;
    /** SC_ROLLOUT_CYCLES: rollout restarts. */
    rollouts: number;
    /** SC_CRASH_CYCLES: mysqld crashes, each the first of its container. */
    crashes: number;
    /** SC_CRASH_SERIES: crashes at a fixed interval (0: no series). */
    crashSeries: number;
    /** SC_CRASH_INTERVAL_S: the series' interval. */
    crashIntervalS: number;
    /** SC_NODE_RESTART_CYCLES: reboots of MySQL's node in the nodes suite. */
    nodeRestarts: number;
    /** SC_NODE_LOSS_TOLERATION_S: the short toleration the node-loss check sets. */
    nodeLossTolerationS: number;
    /** SC_POWER_CUTS: power cuts of MySQL's node in the resilience suite (the gate's 3; 0 leaves them out). */
    powerCuts: number;
  };
  /**
   * SC_POWER_CUT_MODE: lazyfs (default) drops what was never synced before the node is killed;
   * kill only kills the node container (the host keeps every byte written: a process-death test, kept to compare).
   */
  powerCutMode: "lazyfs" | "kill";
  /** SC_PERF_PROFILE: how long the performance suite measures. */
  perfProfile: PerfProfile;
  /** SC_BENCH_IMAGE: an image with fio and sysbench (default: the project's bench image). */
  benchImage?: string;
  /** SC_MIN_STORAGE: the smallest data claim the static rules accept. */
  minStorage: string;
  /** K3S_IMAGE and SC_OFFLINE=1: which image the embedded cluster runs. */
  clusterImage: { k3sImage?: string; offline: boolean };
  /** KEEP_NAMESPACES=1: each check's namespace is kept for debugging. */
  keepNamespaces: boolean;
  /** SC_REPORTS_DIR: where a plain vitest run writes its reports (the conformance command's --reports wins). */
  reportsDir?: string;
}

const counts: { key: keyof RunSettings["cycles"]; variable: Variable; fallback: number; zero?: boolean }[] = [
  { key: "podDeletions", variable: "SC_RECOVERY_CYCLES", fallback: 3 },
  { key: "rollouts", variable: "SC_ROLLOUT_CYCLES", fallback: 1 },
  { key: "crashes", variable: "SC_CRASH_CYCLES", fallback: 1 },
  { key: "crashSeries", variable: "SC_CRASH_SERIES", fallback: 0, zero: true },
  { key: "crashIntervalS", variable: "SC_CRASH_INTERVAL_S", fallback: 10 },
  { key: "nodeRestarts", variable: "SC_NODE_RESTART_CYCLES", fallback: 3 },
  { key: "nodeLossTolerationS", variable: "SC_NODE_LOSS_TOLERATION_S", fallback: 10 },
  { key: "powerCuts", variable: "SC_POWER_CUTS", fallback: 3, zero: true },
];

/** A whole number of `name`, or `fallback` when unset or blank; throws one line naming the variable. */
function wholeNumber(env: Environment, name: Variable, fallback: number, zero = false): number {
  const text = variable(env, name)?.trim();
  if (!text) return fallback;
  if (!(zero ? /^(0|[1-9][0-9]*)$/ : /^[1-9][0-9]*$/).test(text))
    throw new Error(`${name}=${JSON.stringify(env[name])} is not a ${zero ? "whole number (0 or more)" : "positive whole number"}`);
  return Number(text);
}

/** The operator commands' part of the settings, from `env`; throws one line naming a malformed variable. */
export function toolSettingsFromEnv(env: Environment, cwd = process.cwd()): ToolSettings {
  const { timeouts, overrides } = loadTimeouts(env);
  const rateText = variable(env, "SC_LEDGER_RATE")?.trim();
  const ratePerS = rateText ? Number(rateText) : 100;
  if (!Number.isFinite(ratePerS) || ratePerS <= 0)
    throw new Error(`SC_LEDGER_RATE=${JSON.stringify(env.SC_LEDGER_RATE)} is not a positive number of commits per second`);
  const dataDir = variable(env, "SC_DATA_DIR") || defaultDataDir;
  if (!dataDir.startsWith("/")) throw new Error(`SC_DATA_DIR=${JSON.stringify(dataDir)} is not an absolute path in the container`);
  const kubeconfig = variable(env, "KUBECONFIG");
  const stepSummary = variable(env, "GITHUB_STEP_SUMMARY");
  const githubActions = variable(env, "GITHUB_ACTIONS") === "true";
  return {
    ...(kubeconfig ? { kubeconfig: resolve(cwd, kubeconfig) } : {}),
    timeouts,
    timeoutOverrides: overrides,
    ledger: { connections: wholeNumber(env, "SC_LEDGER_CONNECTIONS", 4), ratePerS },
    dataDir,
    ...(stepSummary ? { stepSummary } : {}),
    ...(githubActions ? { githubActions } : {}),
  };
}

/** Reads the run's settings from `env`; throws one line naming the variable that is malformed. */
export function runSettingsFromEnv(env: Environment, cwd = process.cwd(), defaultManifestsDir = resolve(cwd, "manifests")): RunSettings {
  const cycles = {} as RunSettings["cycles"];
  for (const { key, variable: name, fallback, zero } of counts) cycles[key] = wholeNumber(env, name, fallback, zero);
  const engine = variable(env, "SC_ENGINE")?.trim() || "mysql";
  if (!(engineNames as readonly string[]).includes(engine))
    throw new Error(
      `SC_ENGINE=${JSON.stringify(env.SC_ENGINE)} is not one of ${engineNames.join(", ")} (both engines in one run: npm run conformance -- --engine all)`,
    );
  let expectations: unknown;
  try {
    expectations = JSON.parse(variable(env, "SC_EXPECT") || "[]");
  } catch {
    expectations = undefined;
  }
  if (!Array.isArray(expectations) || !expectations.every((e) => typeof e === "string"))
    throw new Error(`SC_EXPECT=${JSON.stringify(env.SC_EXPECT)} is not a JSON list of thresholds, e.g. '["fio_fsync_p99_ms<=10"]'`);
  const parsed = expectations.map((text) => {
    try {
      return parseExpectation(text);
    } catch (error) {
      throw new Error(`SC_EXPECT: ${(error as Error).message}`);
    }
  });
  const powerCutMode = variable(env, "SC_POWER_CUT_MODE")?.trim() || "lazyfs";
  if (powerCutMode !== "lazyfs" && powerCutMode !== "kill")
    throw new Error(
      `SC_POWER_CUT_MODE=${JSON.stringify(env.SC_POWER_CUT_MODE)} is not lazyfs or kill (lazyfs: drop what was never synced, then kill the node; kill: the node container killed alone)`,
    );
  const minStorage = variable(env, "SC_MIN_STORAGE")?.trim() || "1Gi";
  if (parseQuantity(minStorage) === undefined) throw new Error(`SC_MIN_STORAGE=${JSON.stringify(env.SC_MIN_STORAGE)} is not a Kubernetes quantity, e.g. 1Gi`);
  const manifests = variable(env, "SC_MANIFESTS");
  const runId = variable(env, "SC_RUN_ID");
  const benchImage = variable(env, "SC_BENCH_IMAGE");
  const k3sImage = variable(env, "K3S_IMAGE");
  const reportsDir = variable(env, "SC_REPORTS_DIR");
  const tools = toolSettingsFromEnv(env, cwd);
  // SC_REPORTS_DIR is resolved here, against the caller's directory, like every path setting.
  return {
    ...tools,
    ledger: { ...tools.ledger, ...(reportsDir && runId ? { evidenceDir: join(resolve(cwd, reportsDir), runId, "evidence") } : {}) },
    manifestsDir: manifests ? resolve(cwd, manifests) : defaultManifestsDir,
    ...(runId ? { runId } : {}),
    engine: engine as Engine,
    suites: (variable(env, "SC_SUITES") ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    disruptive: variable(env, "SC_DISRUPTIVE") === "1",
    expectations: parsed,
    cycles,
    powerCutMode,
    perfProfile: perfProfile(variable(env, "SC_PERF_PROFILE")),
    ...(benchImage ? { benchImage } : {}),
    minStorage,
    clusterImage: { ...(k3sImage ? { k3sImage } : {}), offline: variable(env, "SC_OFFLINE") === "1" },
    keepNamespaces: variable(env, "KEEP_NAMESPACES") === "1",
    ...(reportsDir ? { reportsDir: resolve(cwd, reportsDir) } : {}),
  };
}

/** The run's settings from this process's environment; relative paths (and the default manifests/) are the caller's directory's. */
export function readRunSettings(): RunSettings {
  return runSettingsFromEnv(process.env, process.cwd());
}

/** The operator commands' settings from this process's environment. */
export function readToolSettings(): ToolSettings {
  return toolSettingsFromEnv(process.env);
}

/** Fills this process's tables (deadlines, data directory) from the settings; each process's entry calls it once. */
export function applyRunSettings(settings: Pick<ToolSettings, "timeouts" | "dataDir">): void {
  useTimeouts(settings.timeouts);
  useDataDir(settings.dataDir);
}
