// The run's settings as one typed value. The conformance command builds it
// from its options and hands it to vitest with `provide`; `npm test` (no
// command in front) builds it from the environment, the only interface a bare
// vitest run has. Either way it is parsed here, once, before the cluster
// starts: a malformed count is one line naming the variable, not a failed
// check ten minutes in. Pure.
import { resolve } from "node:path";
import { type Engine, engineNames } from "../mysql/engines.ts";
import { parseExpectation } from "./expectations.ts";

export interface RunSettings {
  /** The manifests under test (absolute). */
  manifestsDir: string;
  /** Set by the conformance command; otherwise the cluster's start names the run. */
  runId?: string;
  engine: Engine;
  /** The suites named with --suite (empty: every suite). */
  suites: string[];
  /** A cluster named by the user (--kubeconfig); otherwise the embedded one. */
  kubeconfig?: string;
  /** --storage-class (the conformance command only: it checks the name and records the deviation): the design's claims are provisioned by this class instead. */
  storageClass?: string;
  /** --disruptive: the nodes suite may drain a node of a cluster it did not start. */
  disruptive: boolean;
  /** --expect thresholds, as written. */
  expectations: string[];
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
  };
}

const counts: { key: keyof RunSettings["cycles"]; variable: string; fallback: number; zero?: boolean }[] = [
  { key: "podDeletions", variable: "SC_RECOVERY_CYCLES", fallback: 3 },
  { key: "rollouts", variable: "SC_ROLLOUT_CYCLES", fallback: 1 },
  { key: "crashes", variable: "SC_CRASH_CYCLES", fallback: 1 },
  { key: "crashSeries", variable: "SC_CRASH_SERIES", fallback: 0, zero: true },
  { key: "crashIntervalS", variable: "SC_CRASH_INTERVAL_S", fallback: 10 },
  { key: "nodeRestarts", variable: "SC_NODE_RESTART_CYCLES", fallback: 3 },
  { key: "nodeLossTolerationS", variable: "SC_NODE_LOSS_TOLERATION_S", fallback: 10 },
];

/** Reads the run's settings from `env`; throws one line naming the variable that is malformed. */
export function runSettingsFromEnv(env: NodeJS.ProcessEnv, cwd = process.cwd()): RunSettings {
  const cycles = {} as RunSettings["cycles"];
  for (const { key, variable, fallback, zero } of counts) {
    const text = env[variable]?.trim();
    if (!text) {
      cycles[key] = fallback;
      continue;
    }
    if (!(zero ? /^(0|[1-9][0-9]*)$/ : /^[1-9][0-9]*$/).test(text))
      throw new Error(`${variable}=${JSON.stringify(env[variable])} is not a ${zero ? "whole number (0 or more)" : "positive whole number"}`);
    cycles[key] = Number(text);
  }
  const engine = env.SC_ENGINE?.trim() || "mysql";
  if (!(engineNames as readonly string[]).includes(engine))
    throw new Error(
      `SC_ENGINE=${JSON.stringify(env.SC_ENGINE)} is not one of ${engineNames.join(", ")} (both engines in one run: npm run conformance -- --engine all)`,
    );
  let expectations: unknown;
  try {
    expectations = JSON.parse(env.SC_EXPECT || "[]");
  } catch {
    expectations = undefined;
  }
  if (!Array.isArray(expectations) || !expectations.every((e) => typeof e === "string"))
    throw new Error(`SC_EXPECT=${JSON.stringify(env.SC_EXPECT)} is not a JSON list of thresholds, e.g. '["fio_fsync_p99_ms<=10"]'`);
  for (const text of expectations) {
    try {
      parseExpectation(text);
    } catch (error) {
      throw new Error(`SC_EXPECT: ${(error as Error).message}`);
    }
  }
  return {
    manifestsDir: resolve(cwd, env.SC_MANIFESTS || "manifests"),
    ...(env.SC_RUN_ID ? { runId: env.SC_RUN_ID } : {}),
    engine: engine as Engine,
    suites: (env.SC_SUITES ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    ...(env.KUBECONFIG ? { kubeconfig: resolve(cwd, env.KUBECONFIG) } : {}),
    disruptive: env.SC_DISRUPTIVE === "1",
    expectations,
    cycles,
  };
}
