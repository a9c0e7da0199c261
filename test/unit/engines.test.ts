import { describe, expect, it } from "vitest";
import { describeOfflineEngines } from "../../src/cluster/images.ts";
import { engineImage, engineOfVersion, parseEngineOption } from "../../src/mysql/engines.ts";
import { datadirArgument, findDatabaseWorkload, isWithin, withDatabaseImage } from "../../src/manifests/workload.ts";
import { loadManifests } from "../../src/manifests/load.ts";
import { compareEngines, renderEngineMarkdown, type EngineRun } from "../../src/report/engines.ts";
import { engineLines } from "../../src/report/markdown.ts";
import { serverVersionsOf, type CheckResult, type RunResults } from "../../src/report/results.ts";

const versions = { MYSQL_LINE: "9.7", MYSQL_DEBIAN_SUITE: "sid", MARIADB_LINE: "10.11", DEBIAN_SUITE: "bookworm" };

describe("--engine", () => {
  it("means the manifests' own image by default, both engines for all", () => {
    expect(parseEngineOption(undefined)).toEqual(["mysql"]);
    expect(parseEngineOption("mariadb")).toEqual(["mariadb"]);
    expect(parseEngineOption("all")).toEqual(["mysql", "mariadb"]);
  });
  it("names the engines it knows when given another", () => {
    expect(() => parseEngineOption("postgres")).toThrow("--engine postgres is not one of mysql, mariadb or all");
  });
  it("swaps in mariadb of the pinned line, and nothing for mysql", () => {
    expect(engineImage("mysql", versions)).toBeUndefined();
    expect(engineImage("mariadb", versions)).toBe("mariadb:10.11");
  });
  it("tells the engine from the server's own version string", () => {
    expect(engineOfVersion("9.7.4")).toBe("mysql");
    expect(engineOfVersion("10.11.14-MariaDB-0+deb12u2")).toBe("mariadb");
  });
});

describe("withDatabaseImage", () => {
  const design = loadManifests("manifests");
  it("changes only the database container's image, leaving the loaded manifests untouched", () => {
    const swapped = withDatabaseImage(design, "mariadb:10.11");
    expect(findDatabaseWorkload(swapped)?.container.image).toBe("mariadb:10.11");
    expect(findDatabaseWorkload(design)?.container.image).toBe("mysql:8.4");
    const others = (objects: typeof design) => objects.filter((o) => o.object.kind !== "Deployment").map((o) => o.object);
    expect(others(swapped)).toEqual(others(design));
    expect(swapped.find((o) => o.object.kind === "Deployment")!.lineOf(["spec", "replicas"])).toBe(
      design.find((o) => o.object.kind === "Deployment")!.lineOf(["spec", "replicas"]),
    );
  });
  it("returns the same objects when no image is asked for", () => {
    expect(withDatabaseImage(design, undefined)).toBe(design);
  });
});

describe("datadirArgument", () => {
  it("finds --datadir in args or command, joined or separate", () => {
    expect(datadirArgument({ name: "m", args: ["--datadir=/srv/db"] })).toEqual({ value: "/srv/db", field: "args", index: 0 });
    expect(datadirArgument({ name: "m", command: ["mysqld", "--datadir", "/srv/db"] })).toEqual({ value: "/srv/db", field: "command", index: 1 });
    expect(datadirArgument({ name: "m", args: ["--character-set-server=utf8mb4"] })).toBeUndefined();
  });
  it("counts a directory inside the mount as on it", () => {
    expect(isWithin("/var/lib/mysql/data", "/var/lib/mysql")).toBe(true);
    expect(isWithin("/var/lib/mysql/", "/var/lib/mysql")).toBe(true);
    expect(isWithin("/var/lib/mysql-data", "/var/lib/mysql")).toBe(false);
  });
});

const check = (suite: string, name: string, status: CheckResult["status"], values: CheckResult["values"]): CheckResult => ({
  suite,
  name,
  status,
  values,
  message: "",
  durationMs: 1,
});
const run = (engine: string, checks: CheckResult[]): EngineRun => ({
  engine,
  results: {
    runId: `r-${engine}`,
    startedAt: "",
    finishedAt: "",
    durationS: 1,
    manifestsDir: "manifests",
    timeoutOverrides: [],
    summary: { passed: checks.filter((c) => c.status === "passed").length, failed: checks.filter((c) => c.status === "failed").length, skipped: 0 },
    checks,
    engine: { name: engine, serverVersions: serverVersionsOf(checks) },
  },
});

describe("engines side by side", () => {
  const mysql = run("mysql", [
    check("static", "rule", "passed", {}),
    check("survival", "survives", "passed", { recovery_p50_s: { value: 2.1, unit: "s" }, server_version: { value: "9.7.4", unit: "" } }),
  ]);
  const mariadb = run("mariadb", [
    check("survival", "survives", "failed", { recovery_p50_s: { value: 1.9, unit: "s" }, server_version: { value: "10.11.14-MariaDB", unit: "" } }),
  ]);

  it("puts every measured value of a check in a column per engine, static findings once", () => {
    expect(compareEngines([mysql, mariadb])).toEqual([
      { suite: "survival", check: "survives", value: "status", byEngine: { mysql: "passed", mariadb: "FAILED" } },
      { suite: "survival", check: "survives", value: "recovery_p50_s", byEngine: { mysql: "2.1 s", mariadb: "1.9 s" } },
      { suite: "survival", check: "survives", value: "server_version", byEngine: { mysql: "9.7.4", mariadb: "10.11.14-MariaDB" } },
    ]);
  });
  it("shows a dash where one engine lacks a check, and each engine's verdict and server in the summary", () => {
    const lonely = run("mysql", [check("backup", "dumps", "passed", { backup_bytes: { value: 10, unit: "bytes" } })]);
    expect(compareEngines([lonely, mariadb])[0]!.byEngine).toEqual({ mysql: "passed", mariadb: "—" });
    const markdown = renderEngineMarkdown("run1", [mysql, mariadb]);
    expect(markdown).toContain("- mariadb: 1 failed (0 passed, 1 failed, 0 skipped); server 10.11.14-MariaDB; reports r-mariadb/");
    expect(markdown).toContain("| survival | survives | status | passed | FAILED |\n|  |  | recovery_p50_s | 2.1 s | 1.9 s |");
  });
});

describe("the engine in every report's header", () => {
  const results = (cluster: Record<string, unknown>): RunResults => ({
    ...run("mysql", [check("survival", "s", "passed", { server_version: { value: "9.7.4", unit: "" } })]).results!,
    cluster,
  });
  it("names the engine and the server that answered", () => {
    expect(engineLines(results({}))).toEqual(["**Engine:** mysql (the manifests' own image); server: 9.7.4"]);
  });
  it("says loudly when the offline node's mysql is MariaDB", () => {
    const fallback = describeOfflineEngines(
      {
        "storage-conformance.mysql-engine": "mariadb (fallback: Debian sid has no MySQL 9.7)",
        "storage-conformance.mysql-version": "10.11.14",
        "storage-conformance.mariadb-version": "10.11.14",
      },
      versions,
    );
    expect(fallback).toBe(
      "mysql:8.4 and mysql:9.7 serve MariaDB 10.11.14, NOT MySQL: Debian sid has no MySQL 9.7; mariadb:10.11 serves MariaDB 10.11.14 (Debian bookworm)",
    );
    expect(engineLines(results({ offlineEngines: fallback }))[1]).toMatch(/^\*\*WARNING: the offline node has no MySQL\.\*\* Offline node: mysql:8\.4/);
  });
  it("reads MySQL from the offline image's labels", () => {
    const labels = {
      "storage-conformance.mysql-engine": "mysql",
      "storage-conformance.mysql-version": "9.7.4",
      "storage-conformance.mariadb-version": "10.11.14",
    };
    expect(describeOfflineEngines(labels, versions)).toBe(
      "mysql:8.4 and mysql:9.7 serve Oracle MySQL 9.7.4 (Debian sid); mariadb:10.11 serves MariaDB 10.11.14 (Debian bookworm)",
    );
    expect(describeOfflineEngines({}, versions)).toBeUndefined();
  });
});
