import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { CheckResult, RunResults } from "../../src/report/results.ts";
import { safeRelativePath, writeReports } from "../../src/report/write.ts";
import { runOf } from "./support/results.ts";

const failed: CheckResult = {
  suite: "survival",
  name: "the ecomdb dataset > survives 3 deletions of the MySQL pod",
  status: "failed",
  values: {},
  message: "the data changed across the pod deletion: customers: the table is gone (expected 20000 rows)",
  durationMs: 9_000,
  diagnostics: "--- diagnostics for namespace sc-survival-x ---\nPod mysql-1: phase=Running",
  diagnosticFiles: {
    "events.txt": "2026-11-26T03:00:00Z Normal Killing Pod/mysql-1: Stopping container mysql",
    "objects.yaml": "pods: []\n",
    "logs/mysql-1.mysql.previous.log": "[Note] InnoDB: Starting crash recovery.",
    "node/kubelet.log": "I1126 kubelet.go:2000] SyncLoop DELETE",
    "../../escape.txt": "must stay inside the folder",
  },
};
const passed: CheckResult = { suite: "binding", name: "mysql-pvc > is Bound", status: "passed", values: {}, message: "", durationMs: 3_000 };

const run = (checks: CheckResult[]): RunResults =>
  runOf(checks, { runId: "20261126T030000-abcdef", startedAt: "2026-11-26T03:00:00.000Z", finishedAt: "2026-11-26T03:01:00.000Z" });

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a failed check's diagnostics folder", () => {
  it("holds the summary and every collected file, linked from the HTML and JUnit reports, while results.json only names it", async () => {
    dir = mkdtempSync(join(tmpdir(), "sc-failures-"));
    const runDir = await writeReports(dir, run([passed, structuredClone(failed)]));
    const folder = join(runDir, "failures/02-survival");
    expect(readFileSync(join(folder, "diagnostics.txt"), "utf8")).toBe(`${failed.name}\n\n${failed.message}\n\n${failed.diagnostics}\n`);
    expect(readFileSync(join(folder, "logs/mysql-1.mysql.previous.log"), "utf8")).toBe("[Note] InnoDB: Starting crash recovery.");
    expect(readFileSync(join(folder, "node/kubelet.log"), "utf8")).toContain("SyncLoop DELETE");
    expect(readFileSync(join(folder, "escape.txt"), "utf8"), "a name with .. is written inside the folder").toBe("must stay inside the folder");
    expect(existsSync(join(runDir, "escape.txt"))).toBe(false);

    const json = readFileSync(join(runDir, "results.json"), "utf8");
    expect(JSON.parse(json).checks[1].diagnosticsDir).toBe("failures/02-survival");
    expect(json, "the files' contents are in the folder, not in results.json").not.toContain("SyncLoop DELETE");

    const html = readFileSync(join(runDir, "report.html"), "utf8");
    expect(html).toContain('<a href="failures/02-survival/">failures/02-survival/</a>');
    expect(html).toContain('<a href="failures/02-survival/node/kubelet.log">node/kubelet.log</a>');
    const junit = readFileSync(join(runDir, "junit.xml"), "utf8");
    expect(junit).toContain("Diagnostics (events, objects, container and node logs): failures/02-survival/");
    expect(junit).toContain("<system-err>[[ATTACHMENT|failures/02-survival/diagnostics.txt]]</system-err>");
    expect(existsSync(join(dir, "latest/failures/02-survival/events.txt")), "latest/ mirrors the folder").toBe(true);
  });

  it("is not written for a passing run", async () => {
    dir = mkdtempSync(join(tmpdir(), "sc-failures-"));
    const runDir = await writeReports(dir, run([passed]));
    expect(existsSync(join(runDir, "failures"))).toBe(false);
  });

  it("keeps collected names inside the folder", () => {
    expect(safeRelativePath("logs/mysql-1.mysql.log")).toBe("logs/mysql-1.mysql.log");
    expect(safeRelativePath("/etc/passwd")).toBe("etc/passwd");
    expect(safeRelativePath("../../x")).toBe("x");
    expect(safeRelativePath("a b/c:d")).toBe("a_b/c_d");
    expect(safeRelativePath("..")).toBe("unnamed");
  });
});
