import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answeringServer, removeTempDirs, runCli, tempDir, writeKubeconfig, type FakeServer } from "./support/fake-cluster.ts";

afterAll(removeTempDirs);

/**
 * Ctrl-C during `npm run conformance -- --kubeconfig FILE`, against a fake API
 * server on 127.0.0.1 that creates namespaces and never answers anything else
 * (so a check is in flight, its namespace Active, when the signal comes).
 */
describe("Ctrl-C during a conformance run", () => {
  let server: FakeServer;
  const namespaces = new Map<string, { metadata: { name: string; labels: Record<string, string> }; status: { phase: string } }>();
  beforeAll(async () => {
    server = await answeringServer((req, body) => {
      const url = new URL(req.url!, "http://x");
      if (url.pathname === "/version") return { status: 200, body: { gitVersion: "v1.34.4" } };
      if (url.pathname === "/api/v1/namespaces" && req.method === "POST") {
        const ns = { ...(JSON.parse(body) as { metadata: { name: string; labels: Record<string, string> } }), status: { phase: "Active" } };
        namespaces.set(ns.metadata.name, ns);
        return { status: 201, body: ns };
      }
      if (url.pathname === "/api/v1/namespaces" && req.method === "GET") {
        const wanted = (url.searchParams.get("labelSelector") ?? "").split(",").filter(Boolean);
        const items = [...namespaces.values()].filter((ns) =>
          wanted.every((term) => {
            const [key, value] = term.split("=");
            return value === undefined ? key! in ns.metadata.labels : ns.metadata.labels[key!] === value;
          }),
        );
        return { status: 200, body: { apiVersion: "v1", kind: "NamespaceList", metadata: {}, items } };
      }
      const named = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)$/)?.[1];
      if (named && req.method === "DELETE") {
        namespaces.delete(named);
        return { status: 200, body: { kind: "Status", status: "Success" } };
      }
      return undefined; // the check in flight waits here
    });
  });
  afterAll(() => server.close());

  it("deletes every namespace labelled with the run's id before exiting 130", async () => {
    const dir = tempDir("sc-interrupt-");
    const kubeconfig = writeKubeconfig(dir, server.url, { token: "interrupt-token-123" });
    let created = "";
    const run = await runCli(
      "conformance",
      ["--kubeconfig", kubeconfig, "--reports", join(dir, "reports")],
      { SC_TIMEOUT_API_REQUEST_MS: "60000" },
      120_000,
      (child) => {
        const poll = setInterval(() => {
          const first = [...namespaces.keys()][0];
          if (!first) return;
          created = first;
          clearInterval(poll);
          // As a terminal sends it: to the whole process group (vitest's workers too).
          setTimeout(() => process.kill(-child.pid!, "SIGINT"), 500);
        }, 100);
        child.on("close", () => clearInterval(poll));
      },
    );
    expect(created, run.stderr).toMatch(/^sc-[a-z-]+-[0-9a-f]{6}$/);
    expect(run.stderr).toMatch(
      /SIGINT: deleting this run's namespaces \(app\.kubernetes\.io\/managed-by=storage-conformance,storage-conformance\/run=\d{8}T\d{6}-[0-9a-f]{6}\) before exiting/,
    );
    expect(run.stderr).toContain(`deleted namespace ${created}`);
    expect([...namespaces.keys()], "namespaces left on the cluster").toEqual([]);
    expect(server.requests).toContain(`DELETE /api/v1/namespaces/${created}`);
    expect(run.code).toBe(130);
  }, 150_000);
});
