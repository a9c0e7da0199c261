import { describe, expect, it } from "vitest";
import { runSettingsFromEnv } from "../../src/run/settings.ts";

describe("the run's settings from the environment", () => {
  it("has the gate's defaults when nothing is set", () => {
    const settings = runSettingsFromEnv({}, "/work");
    expect(settings).toEqual({
      manifestsDir: "/work/manifests",
      engine: "mysql",
      suites: [],
      disruptive: false,
      expectations: [],
      cycles: { podDeletions: 3, rollouts: 1, crashes: 1, crashSeries: 0, crashIntervalS: 10, nodeRestarts: 3, nodeLossTolerationS: 10 },
    });
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
    expect(settings.expectations).toEqual(["sysbench_tps>=100"]);
    expect(settings.kubeconfig).toBe("/work/kc.yaml");
    expect(settings.disruptive).toBe(true);
  });

  it("refuses a malformed count with one line naming the variable", () => {
    expect(() => runSettingsFromEnv({ SC_CRASH_CYCLES: "abc" })).toThrow('SC_CRASH_CYCLES="abc" is not a positive whole number');
    expect(() => runSettingsFromEnv({ SC_RECOVERY_CYCLES: "0" })).toThrow('SC_RECOVERY_CYCLES="0" is not a positive whole number');
    expect(() => runSettingsFromEnv({ SC_NODE_RESTART_CYCLES: "2.5" })).toThrow("SC_NODE_RESTART_CYCLES");
    expect(() => runSettingsFromEnv({ SC_CRASH_SERIES: "-1" })).toThrow('SC_CRASH_SERIES="-1" is not a whole number (0 or more)');
    expect(runSettingsFromEnv({ SC_CRASH_SERIES: "0" }).cycles.crashSeries).toBe(0);
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
