import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeTempDirs, runCli, silentTlsServer, tempDir, writeKubeconfig, type FakeServer } from "./support/fake-cluster.ts";

afterAll(removeTempDirs);

describe("a cluster whose API server completes TLS and never answers", () => {
  let server: FakeServer;
  let kubeconfig: string;
  beforeAll(async () => {
    server = await silentTlsServer();
    kubeconfig = writeKubeconfig(tempDir("sc-slow-"), server.url, { token: "slow-cluster-token" });
  });
  afterAll(() => server.close());

  it("is named as slow by storage-status within the request deadline, exit 2", async () => {
    const run = await runCli("storage-status", ["--kubeconfig", kubeconfig], { SC_TIMEOUT_API_REQUEST_MS: "1500" });
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(/cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ .*did not answer within 2 s: a slow or overloaded cluster/);
    expect(run.code).toBe(2);
    expect(run.ms).toBeLessThan(25_000);
    expect(server.requests).toContain("GET /version");
  }, 30_000);

  it("is named as slow by the conformance run's reachability check, before anything starts", async () => {
    const reports = tempDir("sc-slow-reports-");
    const run = await runCli("conformance", ["--kubeconfig", kubeconfig, "--reports", reports], { SC_TIMEOUT_API_REACHABLE_MS: "1500" });
    expect(run.stderr).toMatch(/did not answer within 2 s: a slow or overloaded cluster/);
    expect(run.code).toBe(2);
    expect(run.ms).toBeLessThan(25_000);
  }, 30_000);
});
