import { describe, expect, it } from "vitest";
import { boundingSetOf, missingCapabilities } from "../../src/cluster/capabilities.ts";
import { loadTimeouts, timeoutEnvName } from "../../src/timeouts.ts";

describe("capabilities", () => {
  it("finds CAP_SYS_RESOURCE missing from this project's sandbox bounding set", () => {
    expect(missingCapabilities("000001fffeffffff")).toEqual(["SYS_RESOURCE"]);
  });
  it("finds nothing missing from a full bounding set", () => {
    expect(missingCapabilities("000001ffffffffff")).toEqual([]);
  });
  it("reads CapBnd from /proc/PID/status", () => {
    expect(boundingSetOf("Name:\tbash\nCapEff:\t0\nCapBnd:\t000001fffeffffff\n")).toBe("000001fffeffffff");
  });
});

describe("timeouts", () => {
  it("takes an override from SC_TIMEOUT_<NAME>", () => {
    const { timeouts, overrides } = loadTimeouts({ SC_TIMEOUT_CLAIM_BOUND_MS: "5000" });
    expect(timeouts.claimBoundMs).toBe(5000);
    expect(overrides).toEqual(["SC_TIMEOUT_CLAIM_BOUND_MS=5000"]);
  });
  it("rejects an unknown timeout name instead of ignoring a typo", () => {
    expect(() => loadTimeouts({ SC_TIMEOUT_CLAIM_BOUD_MS: "5000" })).toThrow(/unknown timeout SC_TIMEOUT_CLAIM_BOUD_MS; known: .*SC_TIMEOUT_CLAIM_BOUND_MS/);
  });
  it("rejects a value that is not a positive number", () => {
    expect(() => loadTimeouts({ SC_TIMEOUT_POD_READY_MS: "soon" })).toThrow("SC_TIMEOUT_POD_READY_MS=soon is not a positive number of milliseconds");
  });
  it("spells env names from the table's keys", () => {
    expect(timeoutEnvName("recoveryBudgetMs")).toBe("SC_TIMEOUT_RECOVERY_BUDGET_MS");
  });
});
