import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anyRunSelector, runSelector } from "../../src/kube/namespace.ts";
import { loadManifests } from "../../src/manifests/load.ts";
import { storageClassDeviation, withStorageClass } from "../../src/manifests/storage-class.ts";
import { answeringServer, removeTempDirs, runCli, tempDir, writeKubeconfig, type FakeServer } from "./support/fake-cluster.ts";

const temp = tempDir;
afterAll(removeTempDirs);
const lines = (text: string) => text.trim().split("\n").filter(Boolean);

describe("--reports is checked before the run: one line, exit 2, no verdict", () => {
  it("naming a file", async () => {
    const file = join(temp("sc-reports-"), "results.txt");
    writeFileSync(file, "");
    const run = await runCli("conformance", ["--static-only", "--reports", file]);
    expect([run.code, lines(run.stderr), run.stdout]).toEqual([2, [`error: --reports ${file} is a file, not a folder; name a folder that can be written`], ""]);
  }, 60_000);
  it("naming a folder that cannot be created", async () => {
    const run = await runCli("conformance", ["--static-only", "--reports", "/sys/storage-conformance-reports"]);
    expect([run.code, lines(run.stderr), run.stdout]).toEqual([
      2,
      ["error: --reports /sys/storage-conformance-reports cannot be created: permission denied; name a folder that can be written"],
      "",
    ]);
  }, 60_000);
});

describe("--storage-class NAME", () => {
  it("rewrites every claim's class when applied, and the StatefulSet templates', leaving the loaded objects as written", () => {
    const design = loadManifests("manifests");
    const rewritten = withStorageClass(design, "local-path");
    const claim = rewritten.find((o) => o.object.kind === "PersistentVolumeClaim")!;
    expect((claim.object.spec as { storageClassName: string }).storageClassName).toBe("local-path");
    expect((design.find((o) => o.object.kind === "PersistentVolumeClaim")!.object.spec as { storageClassName: string }).storageClassName).toBe("standard");
    const sts = withStorageClass(loadManifests("fixtures/static/statefulset"), "gp3").find((o) => o.object.kind === "StatefulSet")!;
    expect((sts.object.spec as { volumeClaimTemplates: { spec: { storageClassName: string } }[] }).volumeClaimTemplates[0]!.spec.storageClassName).toBe("gp3");
    expect(storageClassDeviation(design, "local-path")).toBe(
      '--storage-class local-path: every claim asks for StorageClass "local-path" instead of the manifests\' "standard" (checked and applied so); the results hold for that class',
    );
  });

  it("is recorded as a deviation in results.json, summary.md and report.html", async () => {
    const reports = temp("sc-reports-");
    const run = await runCli("conformance", ["--static-only", "--storage-class", "local-path", "--reports", reports]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('uses StorageClass "local-path"');
    const deviation =
      '--storage-class local-path: every claim asks for StorageClass "local-path" instead of the manifests\' "standard" (checked and applied so); the results hold for that class';
    expect(JSON.parse(readFileSync(join(reports, "latest", "results.json"), "utf8")).deviations).toEqual([deviation]);
    expect(readFileSync(join(reports, "latest", "summary.md"), "utf8")).toContain(`**Deviations from the manifests:**\n\n- ${deviation}`);
    expect(readFileSync(join(reports, "latest", "report.html"), "utf8")).toContain(
      '<h2>Deviations from the manifests</h2><ul class="notes"><li>--storage-class local-path: every claim asks for StorageClass &quot;local-path&quot;',
    );
  }, 60_000);

  it("that is not a class name is refused with one line", async () => {
    const run = await runCli("conformance", ["--static-only", "--storage-class", "Fast SSD", "--reports", temp("sc-reports-")]);
    expect([run.code, lines(run.stderr)]).toEqual([2, ['error: --storage-class "Fast SSD" is not a StorageClass name (lowercase letters, digits, - and .)']]);
  }, 60_000);
});

describe("namespaces left behind", () => {
  it("are found by label: one run's, or every run's", () => {
    expect(runSelector("20261125T140000-ab12cd")).toBe("app.kubernetes.io/managed-by=storage-conformance,storage-conformance/run=20261125T140000-ab12cd");
    expect(anyRunSelector).toBe("app.kubernetes.io/managed-by=storage-conformance,storage-conformance/run");
  });

  it("--cleanup without a cluster named is one line, exit 2", async () => {
    const run = await runCli("conformance", ["--cleanup"]);
    expect([run.code, lines(run.stderr)]).toEqual([
      2,
      ["error: --cleanup needs the cluster; pass --kubeconfig FILE or set KUBECONFIG (an embedded cluster goes with its run)"],
    ]);
  }, 60_000);

  describe("--cleanup on a cluster (a fake API server)", () => {
    let server: FakeServer;
    const left = [
      {
        metadata: { name: "sc-survival-1a2b3c", labels: { "storage-conformance/run": "20261125T100000-aaaaaa" }, creationTimestamp: "2026-11-25T10:00:05Z" },
        status: { phase: "Active" },
      },
      {
        metadata: { name: "sc-backup-4d5e6f", labels: { "storage-conformance/run": "20261124T090000-bbbbbb" }, creationTimestamp: "2026-11-24T09:01:00Z" },
        status: { phase: "Terminating" },
      },
    ];
    beforeAll(async () => {
      server = await answeringServer((req) => {
        if (req.url === "/version") return { status: 200, body: { gitVersion: "v1.34.4" } };
        if (req.method === "GET" && req.url?.startsWith("/api/v1/namespaces?"))
          return { status: 200, body: { apiVersion: "v1", kind: "NamespaceList", metadata: {}, items: left } };
        if (req.method === "DELETE") return { status: 200, body: { kind: "Status", status: "Success" } };
        return { status: 404, body: { kind: "Status", message: "not found" } };
      });
    });
    afterAll(() => server.close());

    it("deletes, by label, every namespace earlier runs left, listing each", async () => {
      const kubeconfig = writeKubeconfig(temp("sc-cleanup-"), server.url, { token: "cleanup-token-123" });
      const run = await runCli("conformance", ["--cleanup", "--kubeconfig", kubeconfig]);
      expect(run.code, run.stderr).toBe(0);
      expect(lines(run.stdout)).toEqual([
        "deleted namespace sc-survival-1a2b3c (run 20261125T100000-aaaaaa, created 2026-11-25T10:00:05Z)",
        "deleted namespace sc-backup-4d5e6f (run 20261124T090000-bbbbbb, created 2026-11-24T09:01:00Z) (already terminating)",
        `2 namespaces left by earlier runs deleted on ${server.url} (${anyRunSelector})`,
      ]);
      expect(server.requests).toContain(`GET /api/v1/namespaces?labelSelector=${encodeURIComponent(anyRunSelector)}`);
      expect(server.requests.filter((r) => r.startsWith("DELETE"))).toEqual([
        "DELETE /api/v1/namespaces/sc-survival-1a2b3c",
        "DELETE /api/v1/namespaces/sc-backup-4d5e6f",
      ]);
    }, 60_000);
  });
});

describe("storage-monitor's numbers are decimal and finite", () => {
  for (const [option, value] of [
    ["--interval", "Infinity"],
    ["--interval", "0x10"],
    ["--interval", "0"],
    ["--count", "1e3"],
    ["--count", "0x10"],
  ] as const) {
    it(`${option} ${value} is refused with one line, exit 2, before any cluster is asked`, async () => {
      const run = await runCli("storage-monitor", [option, value, "--kubeconfig", "/nonexistent"]);
      expect(run.code).toBe(2);
      expect(lines(run.stderr)).toHaveLength(1);
      expect(run.stderr).toMatch(new RegExp(`^error: ${option} "${value}" is not a`));
    }, 60_000);
  }
});

describe("storage-monitor --help", () => {
  it("explains the I/O figures: where they come from, latency without performance_schema, a restart", async () => {
    const run = await runCli("storage-monitor", ["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("io 12.0 r/s 340.5 w/s 98.0 fsync/s, read 0.19 written 5.32");
    expect(run.stdout).toContain('(MariaDB\'s default) the line says "latency n/a"');
    expect(run.stdout).toContain("A counter that went down\nmeans the server restarted: that interval has no rates.");
  }, 60_000);
});

it("a run refused for its input writes no report into the reports folder", async () => {
  const reports = join(temp("sc-refused-"), "reports");
  const run = await runCli("conformance", ["--static-only", "--reports", reports, "--manifests", join(reports, "..", "no-such-manifests")]);
  expect(run.code, run.stderr).toBe(2);
  expect(existsSync(reports) ? readdirSync(reports) : [], "files a refused run left in --reports").toEqual([]);
}, 60_000);
