import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { hashedFileSink } from "../../src/design/backup.ts";
import { commands, main } from "../../src/cli/main.ts";
import type { CommandIo } from "../../src/cli/command.ts";
import { projectRoot } from "../../src/paths.ts";
import { removeTempDirs, runCli, tempDir, writeKubeconfig } from "./support/fake-cluster.ts";

afterAll(removeTempDirs);
const lines = (text: string) => text.trim().split("\n").filter(Boolean);

/** main() in this process, its output captured. */
async function inProcess(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CommandIo = { out: (t) => (stdout += `${t}\n`), err: (t) => (stderr += `${t}\n`), format: "text" };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

/** A port on 127.0.0.1 where nothing listens (taken, then let go). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("storage-conformance --help", () => {
  for (const name of ["run", "static", "storage-status", "storage-monitor", "test-persistence", "backup-db", "restore-db", "merge-reports"]) {
    it(`${name} -h and --help exit 0 and state the exit statuses`, async () => {
      for (const flag of ["-h", "--help"]) {
        const ran = await inProcess([name, flag]);
        expect([ran.code, ran.stderr]).toEqual([0, ""]);
        expect(ran.stdout).toContain(`usage: storage-conformance ${name}`);
        expect(ran.stdout).toContain("Exit status: 0 everything checked passed; 1 a check failed");
        expect(ran.stdout).toContain("2 bad input or environment");
      }
    });
  }
  it("lists every command, and refuses an unknown one with the list", async () => {
    const ran = await inProcess(["--help"]);
    expect(ran.code).toBe(0);
    for (const c of commands) expect(ran.stdout).toContain(`  ${c.name} `);
    const unknown = await inProcess(["statik"]);
    expect([unknown.code, lines(unknown.stderr)]).toEqual([
      2,
      [`error: "statik" is not a command of storage-conformance; commands: ${commands.map((c) => c.name).join(", ")}`],
    ]);
  });
  it("loads each command by the name and summary the list gives it", async () => {
    for (const entry of commands) {
      const command = await entry.load();
      expect([command.name, command.summary]).toEqual([entry.name, entry.summary]);
    }
  });
  it("-n is the short form of --namespace, and documented", async () => {
    expect((await inProcess(["storage-status", "--help"])).stdout).toContain("-n, --namespace NS");
  });
});

describe("one option vocabulary", () => {
  for (const [command, old, now] of [
    ["storage-status", "--json", "--output-format json"],
    ["run", "--format", "--output-format text|json|sarif"],
    ["merge-reports", "--out", "--reports DIR"],
  ] as const) {
    it(`${command} ${old} is refused with its new spelling`, async () => {
      const ran = await inProcess([command, old, "x"]);
      expect([ran.code, lines(ran.stderr)]).toEqual([2, [`error: ${old} is now spelled ${now}`]]);
    });
  }
  it("--output-format takes only the formats the command has", async () => {
    const ran = await inProcess(["storage-status", "--output-format", "sarif"]);
    expect([ran.code, lines(ran.stderr)]).toEqual([2, ['error: --output-format "sarif" is not one of text, json']]);
  });
});

describe("a user's first minute", () => {
  it("npm run conformance --static-only (without --) is refused with the spelling that works", async () => {
    // npm keeps an option written before `--` as its own configuration, in npm_config_<name>, and passes the script nothing.
    const ran = await promisify(execFile)("bash", [join(projectRoot, "scripts/run.sh"), "conformance"], {
      env: { ...process.env, npm_config_static_only: "true", npm_lifecycle_event: "conformance" },
    }).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect([ran.code, lines(ran.stderr)]).toEqual([
      2,
      [
        "error: npm took --static-only for itself and would not pass it on; write npm run conformance -- --static-only (npm passes options to a script only after --)",
      ],
    ]);
  });

  it("an --expect naming no value the performance suite measures is refused before anything starts, with the nearest name", async () => {
    const ran = await inProcess(["run", "--expect", "fio_fsync_p99<=10", "--kubeconfig", "/nonexistent"]);
    expect([ran.code, lines(ran.stderr)]).toEqual([
      2,
      [
        "error: --expect 'fio_fsync_p99<=10': the performance suite measures no value named fio_fsync_p99; did you mean fio_fsync_p99_ms? storage-conformance run --help lists every name (e.g. fio_fsync_p99_ms, sysbench_tps)",
      ],
    ]);
    const unrelated = await inProcess(["run", "--expect", "x<=1"]);
    expect([unrelated.code, lines(unrelated.stderr)[0]]).toEqual([
      2,
      expect.stringMatching(/^error: --expect 'x<=1': the performance suite measures no value named x; storage/),
    ]);
  });

  it("an --expect with suites that do not measure it is refused", async () => {
    const ran = await inProcess(["run", "--suite", "binding", "--expect", "fio_fsync_p99_ms<=10"]);
    expect([ran.code, lines(ran.stderr)]).toEqual([
      2,
      ["error: --expect judges the performance suite's values, and --suite binding does not run it; add performance to --suite, or drop --expect"],
    ]);
  });

  it("a --kubeconfig the static checks cannot use is said, not ignored", async () => {
    for (const argv of [
      ["static", "manifests", "--kubeconfig", "/nonexistent"],
      ["run", "--static-only", "--kubeconfig", "/nonexistent"],
    ]) {
      const ran = await inProcess(argv);
      expect([ran.code, lines(ran.stderr)]).toEqual([
        2,
        [
          "error: --kubeconfig names a cluster, and the static checks read none (schema and storage rules only); drop --kubeconfig, or run the live checks on that cluster with: storage-conformance run --kubeconfig FILE",
        ],
      ]);
    }
  });

  it("static checks write no report unless asked, and say where they wrote one", async () => {
    const caller = tempDir("sc-caller-");
    const quiet = await runCli("static", [join(projectRoot, "manifests")], {}, 60_000, undefined, caller);
    expect([quiet.code, quiet.stderr]).toEqual([0, ""]);
    expect(readdirSync(caller), "files a static check left in the caller's folder").toEqual([]);
    const asked = await runCli("static", [join(projectRoot, "manifests"), "--reports", "out"], {}, 60_000, undefined, caller);
    expect(asked.code).toBe(0);
    expect(asked.stderr).toMatch(new RegExp(`^reports: ${join(caller, "out")}/\\d{8}T\\d{6}-[0-9a-f]{6} \\(and ${join(caller, "out")}/latest\\)\\n$`));
    expect(existsSync(join(caller, "out", "latest", "results.json"))).toBe(true);
  }, 60_000);

  it("paths are the caller's: DIR, findings and reports relative to where the command runs", async () => {
    const caller = tempDir("sc-caller-");
    const ran = await runCli("static", ["k8s"], {}, 60_000, undefined, caller);
    expect([ran.code, lines(ran.stderr)]).toEqual([
      2,
      [`error: manifest directory ${join(caller, "k8s")} does not exist; name a directory of YAML manifests with --manifests`],
    ]);
  }, 60_000);
});

describe("bad input: one line, the cause and the fix, exit 2", () => {
  it("an unreachable cluster names the refused address; with JSON output a JSON error object too", async () => {
    const port = await closedPort();
    const kubeconfig = writeKubeconfig(tempDir("sc-kc-"), `https://127.0.0.1:${port}`, { token: "unreachable-token-1" });
    const ran = await runCli("storage-status", ["--kubeconfig", kubeconfig, "--output-format", "json"]);
    const line = `cannot reach the Kubernetes API at https://127.0.0.1:${port} (kubeconfig: ${kubeconfig}): fetch failed: connect ECONNREFUSED 127.0.0.1:${port}; check that the cluster is running and the kubeconfig's server address is reachable from here`;
    expect([ran.code, lines(ran.stderr)]).toEqual([2, [`error: ${line}`]]);
    expect(JSON.parse(ran.stdout)).toEqual({ error: { message: line, exitCode: 2 } });
    const live = await runCli("conformance", ["--kubeconfig", kubeconfig, "--reports", tempDir("sc-reports-")]);
    // The static check runs first; its warnings (the design's manifests have no NetworkPolicy) are not errors.
    const errors = lines(live.stderr).filter((l) => !/^\S+:\d+ \S+ warning /.test(l));
    expect([live.code, errors]).toEqual([2, [`error: ${line}`]]);
  }, 60_000);

  it("--reports on a folder that takes no files (/proc) says so", async () => {
    const ran = await inProcess(["static", "manifests", "--reports", "/proc"]);
    expect([ran.code, lines(ran.stderr)]).toEqual([
      2,
      ["error: --reports /proc cannot be written: it takes no new files (a virtual filesystem such as /proc or /sys); name a folder that can be written"],
    ]);
  });

  it("backup-db --dir on a folder it cannot write is refused before the cluster is asked", async () => {
    const cases: [string, string][] = [
      ["/proc", "/proc cannot be written: it takes no new files (a virtual filesystem such as /proc or /sys)"],
      [
        "/proc/storage-conformance-backups",
        "/proc/storage-conformance-backups cannot be created: it takes no new files (a virtual filesystem such as /proc or /sys)",
      ],
    ];
    for (const [dir, why] of cases) {
      const ran = await inProcess(["backup-db", "--dir", dir, "--kubeconfig", "/nonexistent"]);
      expect([ran.code, lines(ran.stderr)]).toEqual([2, [`error: --dir ${why}; name a folder you can write`]]);
    }
  });
});

describe("a dump streamed to disk", () => {
  it("ends with the cause when the disk refuses a write, never with an unhandled 'error' event", async () => {
    // /dev/full opens, and every write fails with ENOSPC: a full disk mid-dump.
    const sink = hashedFileSink("/dev/full");
    sink.input.write(Buffer.alloc(256 * 1024, 1));
    sink.input.write("-- Dump completed on 2026-12-05\n");
    await expect(sink.finish()).rejects.toThrow("writing /dev/full failed: no space left on the device");
  });
  it("is refused at once, in words, when its folder does not take the file", () => {
    expect(() => hashedFileSink("/proc/sc-dump.sql.partial")).toThrow(
      "/proc/sc-dump.sql.partial cannot be written: it takes no new files (a virtual filesystem such as /proc or /sys)",
    );
  });
  it("hashes what it wrote", async () => {
    const path = join(tempDir("sc-dump-"), "d.sql.partial");
    const sink = hashedFileSink(path);
    sink.input.write("hello\n");
    expect(await sink.finish()).toEqual({ sha256: "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03" });
  });
});
