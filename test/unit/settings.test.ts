import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../src/paths.ts";
import { environmentVariables, runSettingsFromEnv, toolSettingsFromEnv } from "../../src/run/settings.ts";
import { defaultTimeouts } from "../../src/timeouts.ts";

describe("the run's settings from the environment", () => {
  it("has the gate's defaults when nothing is set", () => {
    const settings = runSettingsFromEnv({}, "/work");
    expect(settings).toEqual({
      manifestsDir: "/work/manifests",
      engine: "mysql",
      suites: [],
      disruptive: false,
      expectations: [],
      cycles: { podDeletions: 3, rollouts: 1, crashes: 1, crashSeries: 0, crashIntervalS: 10, nodeRestarts: 3, nodeLossTolerationS: 10, powerCuts: 3 },
      powerCutMode: "lazyfs",
      timeouts: defaultTimeouts,
      timeoutOverrides: [],
      ledger: { connections: 4, ratePerS: 100 },
      dataDir: "/var/lib/mysql",
      perfProfile: "short",
      minStorage: "1Gi",
      clusterImage: { offline: false },
      keepNamespaces: false,
    });
  });

  it("reads the pace of the ledger writer, the deadlines, the images and the folders", () => {
    const settings = runSettingsFromEnv({
      SC_LEDGER_RATE: "50.5",
      SC_LEDGER_CONNECTIONS: "2",
      SC_TIMEOUT_CLAIM_BOUND_MS: "5000",
      SC_PERF_PROFILE: "long",
      SC_BENCH_IMAGE: "bench:1",
      K3S_IMAGE: "rancher/k3s:x",
      SC_OFFLINE: "1",
      SC_DATA_DIR: "/data",
      SC_MIN_STORAGE: "5Gi",
      KEEP_NAMESPACES: "1",
      SC_REPORTS_DIR: "out",
      GITHUB_STEP_SUMMARY: "/tmp/summary.md",
      SC_RUN_ID: "r1",
    });
    // A red ledger's tarball goes under the run's report folder.
    expect(settings.ledger).toEqual({ connections: 2, ratePerS: 50.5, evidenceDir: "/work/main/out/r1/evidence".replace("/work/main", process.cwd()) });
    expect(settings.timeouts.claimBoundMs).toBe(5000);
    expect(settings.timeoutOverrides).toEqual(["SC_TIMEOUT_CLAIM_BOUND_MS=5000"]);
    expect(settings.perfProfile).toBe("long");
    expect(settings.benchImage).toBe("bench:1");
    expect(settings.clusterImage).toEqual({ k3sImage: "rancher/k3s:x", offline: true });
    expect(settings.dataDir).toBe("/data");
    expect(settings.minStorage).toBe("5Gi");
    expect(settings.keepNamespaces).toBe(true);
    expect(settings.reportsDir, "relative to the directory the command runs in").toBe(join(process.cwd(), "out"));
    expect(settings.stepSummary).toBe("/tmp/summary.md");
    expect(settings.runId).toBe("r1");
  });

  it("refuses a malformed pace, deadline, profile, data directory or size with one line naming the variable", () => {
    expect(() => runSettingsFromEnv({ SC_LEDGER_RATE: "fast" })).toThrow('SC_LEDGER_RATE="fast" is not a positive number of commits per second');
    expect(() => runSettingsFromEnv({ SC_LEDGER_RATE: "0" })).toThrow("SC_LEDGER_RATE");
    expect(() => runSettingsFromEnv({ SC_LEDGER_CONNECTIONS: "1.5" })).toThrow('SC_LEDGER_CONNECTIONS="1.5" is not a positive whole number');
    expect(() => runSettingsFromEnv({ SC_TIMEOUT_CLAIM_BOUD_MS: "1" })).toThrow("unknown timeout SC_TIMEOUT_CLAIM_BOUD_MS");
    expect(() => runSettingsFromEnv({ SC_PERF_PROFILE: "nightly" })).toThrow("SC_PERF_PROFILE=nightly is not short or long");
    expect(() => runSettingsFromEnv({ SC_DATA_DIR: "data" })).toThrow('SC_DATA_DIR="data" is not an absolute path in the container');
    expect(() => runSettingsFromEnv({ SC_MIN_STORAGE: "lots" })).toThrow('SC_MIN_STORAGE="lots" is not a Kubernetes quantity, e.g. 1Gi');
  });

  it("gives the operator commands their part only: a malformed count of the suites does not stop them", () => {
    const tool = toolSettingsFromEnv({ KUBECONFIG: "kc.yaml", SC_CRASH_CYCLES: "abc" }, "/work");
    expect(tool.kubeconfig).toBe("/work/kc.yaml");
    expect(tool.ledger).toEqual({ connections: 4, ratePerS: 100 });
  });

  it("reads the nightly's counts, the suites, the engine and the thresholds", () => {
    const settings = runSettingsFromEnv(
      {
        SC_RECOVERY_CYCLES: "60",
        SC_CRASH_SERIES: "5",
        SC_NODE_RESTART_CYCLES: "20",
        SC_SUITES: "nodes, survival",
        SC_ENGINE: "mariadb",
        SC_MANIFESTS: "fixtures/x",
        SC_EXPECT: '["sysbench_tps>=100"]',
        KUBECONFIG: "kc.yaml",
        SC_DISRUPTIVE: "1",
      },
      "/work",
    );
    expect(settings.cycles.podDeletions).toBe(60);
    expect(settings.cycles.crashSeries).toBe(5);
    expect(settings.cycles.nodeRestarts).toBe(20);
    expect(settings.suites).toEqual(["nodes", "survival"]);
    expect(settings.engine).toBe("mariadb");
    expect(settings.manifestsDir).toBe("/work/fixtures/x");
    expect(settings.expectations).toEqual([{ name: "sysbench_tps", op: ">=", threshold: 100, text: "sysbench_tps>=100" }]);
    expect(settings.kubeconfig).toBe("/work/kc.yaml");
    expect(settings.disruptive).toBe(true);
  });

  it("refuses a malformed count with one line naming the variable", () => {
    expect(() => runSettingsFromEnv({ SC_CRASH_CYCLES: "abc" })).toThrow('SC_CRASH_CYCLES="abc" is not a positive whole number');
    expect(() => runSettingsFromEnv({ SC_RECOVERY_CYCLES: "0" })).toThrow('SC_RECOVERY_CYCLES="0" is not a positive whole number');
    expect(() => runSettingsFromEnv({ SC_NODE_RESTART_CYCLES: "2.5" })).toThrow("SC_NODE_RESTART_CYCLES");
    expect(() => runSettingsFromEnv({ SC_CRASH_SERIES: "-1" })).toThrow('SC_CRASH_SERIES="-1" is not a whole number (0 or more)');
    expect(runSettingsFromEnv({ SC_CRASH_SERIES: "0" }).cycles.crashSeries).toBe(0);
    expect(runSettingsFromEnv({ SC_POWER_CUTS: "0" }).cycles.powerCuts).toBe(0);
  });

  it("takes the power cut's mode, lazyfs or kill, and refuses anything else", () => {
    expect(runSettingsFromEnv({ SC_POWER_CUT_MODE: "kill" }).powerCutMode).toBe("kill");
    expect(() => runSettingsFromEnv({ SC_POWER_CUT_MODE: "dm-flakey" })).toThrow(
      'SC_POWER_CUT_MODE="dm-flakey" is not lazyfs or kill (lazyfs: drop what was never synced, then kill the node; kill: the node container killed alone)',
    );
  });

  it("refuses SC_EXPECT that is not a JSON list of strings, and an unknown engine", () => {
    expect(() => runSettingsFromEnv({ SC_EXPECT: "fio_fsync_p99_ms<=10" })).toThrow("SC_EXPECT");
    expect(() => runSettingsFromEnv({ SC_EXPECT: "[1]" })).toThrow("is not a JSON list of thresholds");
    expect(() => runSettingsFromEnv({ SC_EXPECT: '["fio_fsync_p99<<3"]' })).toThrow(/^SC_EXPECT: /);
    expect(() => runSettingsFromEnv({ SC_ENGINE: "postgres" })).toThrow('SC_ENGINE="postgres" is not one of mysql, mariadb');
    expect(() => runSettingsFromEnv({ SC_ENGINE: "all" })).toThrow("both engines in one run: npm run conformance -- --engine all");
    expect(runSettingsFromEnv({ SC_ENGINE: " mariadb " }).engine).toBe("mariadb");
    expect(runSettingsFromEnv({ SC_CRASH_CYCLES: "  " }).cycles.crashes).toBe(1);
  });
});

/**
 * Files of src/ that touch process.env besides the settings module, each with
 * the reason it must. The list only shrinks: an entry no longer needed fails.
 */
const environmentAllowed: Record<string, string> = {
  // testcontainers takes its configuration from the environment only: where the
  // offline image runs, Ryuk (an image too) is turned off unless the user set it.
  "cluster/index.ts": "TESTCONTAINERS_RYUK_DISABLED, testcontainers' own setting",
};

describe("one reader of the environment", () => {
  it("no file of src/ but run/settings.ts reads process.env (except the allowed, each with its reason)", () => {
    const src = join(projectRoot, "src");
    const files = readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    const readers = files
      .map((f) => f.split("\\").join("/"))
      .filter((f) => f !== "run/settings.ts")
      .filter((f) => /\bprocess\.env\b|\bprocess\s*\[\s*["']env["']\s*\]/.test(readFileSync(join(src, f), "utf8")));
    expect(
      readers.filter((f) => !(f in environmentAllowed)),
      "src files that read the environment: take the value from RunSettings instead",
    ).toEqual([]);
    expect(
      Object.keys(environmentAllowed).filter((f) => !readers.includes(f)),
      "allowed files that no longer read the environment",
    ).toEqual([]);
  });

  it("the table of variables in docs/configuration.md names exactly the variables the settings read", () => {
    const section = readFileSync(join(projectRoot, "docs/configuration.md"), "utf8");
    const table = section.split("\n").filter((line) => line.startsWith("| `"));
    const documented = table.flatMap((line) => [...line.split("|")[1]!.matchAll(/`([A-Z0-9_<>]+)(=[^`]*)?`/g)].map((m) => m[1]!));
    expect([...documented].sort()).toEqual([...environmentVariables].sort());
  });
});
