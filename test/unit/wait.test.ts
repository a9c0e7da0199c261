import { describe, expect, it } from "vitest";
import { waitFor, WaitError } from "../../src/kube/wait.ts";

describe("waitFor", () => {
  it("returns the first value that satisfies the condition, after polling", async () => {
    let calls = 0;
    const value = await waitFor(
      async () => ++calls,
      (n) => n >= 3,
      { what: "three calls", timeoutMs: 2_000, intervalMs: 5 },
    );
    expect(value).toBe(3);
    expect(calls).toBe(3);
  });

  it("on timeout names what it awaited, the last value seen and the diagnosis", async () => {
    const error = await waitFor(
      async () => "Pending",
      (p) => p === "Bound",
      {
        what: "PersistentVolumeClaim mysql-pvc to be Bound",
        timeoutMs: 60,
        intervalMs: 10,
        describe: (p) => `phase ${p}`,
        diagnose: async () => "Events: ProvisioningFailed",
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitError);
    expect((error as Error).message).toMatch(
      /^timed out after 0 s waiting for PersistentVolumeClaim mysql-pvc to be Bound; last seen: phase Pending\nEvents: ProvisioningFailed$/,
    );
  });

  it("stops at a dead end without waiting for the deadline", async () => {
    const started = performance.now();
    const error = await waitFor(
      async () => "Lost",
      (p) => p === "Bound",
      {
        what: "the claim to be Bound",
        timeoutMs: 10_000,
        deadEnd: (p) => (p === "Lost" ? "the claim is Lost" : undefined),
      },
    ).catch((e: unknown) => e as Error);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect((error as Error).message).toContain("gave up waiting for the claim to be Bound: the claim is Lost");
  });

  it("reports a probe's last error instead of a bare timeout", async () => {
    const error = await waitFor(
      async () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6443")),
      () => true,
      {
        what: "the API server",
        timeoutMs: 50,
        intervalMs: 10,
      },
    ).catch((e: unknown) => e as Error);
    expect((error as Error).message).toContain("last seen: an error: connect ECONNREFUSED 127.0.0.1:6443");
  });

  it("does not let a probe that never answers outlive the deadline", async () => {
    const started = performance.now();
    const error = await waitFor(
      () => new Promise<never>(() => undefined),
      () => true,
      {
        what: "a hung probe",
        timeoutMs: 1_200,
      },
    ).catch((e: unknown) => e as Error);
    expect(performance.now() - started).toBeLessThan(3_000);
    expect((error as Error).message).toContain("did not answer within");
  });
});
