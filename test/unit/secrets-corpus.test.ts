import { randomBytes } from "node:crypto";
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answeringServer, removeTempDirs, runCli, tempDir, writeKubeconfig, type CliRun, type FakeServer } from "./support/fake-cluster.ts";

/**
 * A corpus of distinctive secrets, each placed in an error path (manifests,
 * Secret data, kubeconfigs, kustomizations, command-line arguments, cluster
 * errors). Every command runs as a user runs it; the test itself searches
 * everything the runs printed and every report file they wrote.
 */
const corpus = new Map<string, string>();
function secret(where: string): string {
  const value = `c0rpus${where.replace(/[^a-z]/gi, "")}${randomBytes(6).toString("hex")}`;
  corpus.set(value, where);
  return value;
}
const base64 = (text: string) => Buffer.from(text).toString("base64");

const outputs: { what: string; text: string }[] = [];
const reportDirs: string[] = [];
const temp = tempDir;
// Outside the describe: runs after its afterAll has searched the reports.
afterAll(removeTempDirs);

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Every secret of the corpus (and its base64 form) that appears in `text`. */
function leaked(text: string): string[] {
  return [...corpus.entries()].flatMap(([value, where]) => (text.includes(value) || text.includes(base64(value)) ? [`${where}: ${value}`] : []));
}

async function run(what: string, name: string, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const reports = temp("sc-corpus-reports-");
  reportDirs.push(reports);
  const result = await runCli(name, name === "conformance" && !args.includes("--reports") ? [...args, "--reports", reports] : args, env);
  outputs.push({ what, text: `${result.stdout}\n${result.stderr}` });
  expect(leaked(result.stdout + result.stderr), `${what} printed a secret`).toEqual([]);
  return result;
}

/** The design's manifests in a temp directory, with `edit` applied to one file. */
function designWith(edits: Record<string, (text: string) => string>, extra: Record<string, string> = {}): string {
  const dir = temp("sc-corpus-");
  cpSync("manifests", dir, { recursive: true });
  for (const [file, edit] of Object.entries(edits))
    writeFileSync(join(dir, file), edit(existsSync(join(dir, file)) ? readFileSync(join(dir, file), "utf8") : ""));
  for (const [file, text] of Object.entries(extra)) writeFileSync(join(dir, file), text);
  return dir;
}

describe("no secret is ever printed or written to a report", () => {
  describe("manifests", () => {
    it("a password beginning with * (read as a YAML alias) in a Secret", async () => {
      const value = secret("alias password");
      const dir = designWith({ "mysql-secret.yaml": (t) => t.replace("password: conformance-user-pw", `password: *${value}`) });
      const result = await run("static check, alias in Secret", "conformance", ["--static-only", "--manifests", dir]);
      expect(result.stderr.trim()).toMatch(/mysql-secret\.yaml:14: malformed YAML: a value starting with \* is read as an alias/);
      expect(result.code).toBe(2);
    }, 60_000);

    it("a malformed line right after Secret data and stringData values", async () => {
      const plain = secret("stringData before fault");
      const encoded = secret("data before fault");
      const dir = designWith({
        "mysql-secret.yaml": (t) => t.replace("password: conformance-user-pw", `password: ${plain}\ndata:\n  other: ${base64(encoded)}\n  broken: "unclosed`),
      });
      const result = await run("static check, fault after Secret values", "conformance", ["--static-only", "--manifests", dir]);
      expect(result.stderr.trim()).toMatch(/^error: .*mysql-secret\.yaml:\d+:\d+: malformed YAML: [^\n]+$/);
    }, 60_000);

    it("Secret values beside schema errors and rule findings, in text, JSON and every report", async () => {
      const plain = secret("stringData with schema error");
      const encoded = secret("data with schema error");
      const literal = secret("PASSWD literal");
      const dir = designWith({
        "mysql-secret.yaml": (t) =>
          t.replace("password: conformance-user-pw", `password: ${plain}\ndata:\n  extra: ${base64(encoded)}\nstrngData:\n  typo: ${plain}`),
        "mysql-deployment.yaml": (t) =>
          t.replace(
            "            - name: MYSQL_DATABASE\n",
            `            - name: REPLICATION_PASSWD\n              value: ${literal}\n            - name: MYSQL_DATABASE\n`,
          ),
      });
      const text = await run("static check text", "conformance", ["--static-only", "--manifests", dir]);
      expect(text.stdout).toContain("REPLICATION_PASSWD of container mysql is a literal value (not shown)");
      expect(text.stdout).toContain("unknown field strngData");
      await run("static check json", "conformance", ["--static-only", "--output-format", "json", "--manifests", dir]);
    }, 60_000);

    it("a kustomization whose secretGenerator literal has no =", async () => {
      const literal = secret("secretGenerator literal");
      const kept = secret("secretGenerator key value");
      const dir = designWith(
        {},
        {
          "kustomization.yaml": `resources: [mysql-secret.yaml, mysql-pvc.yaml, mysql-deployment.yaml]\nsecretGenerator:\n- name: extra\n  literals:\n  - token=${kept}\n  - ${literal}\n`,
        },
      );
      const result = await run("kustomize failure", "conformance", ["--static-only", "--manifests", dir]);
      expect(result.stderr).toMatch(/kustomize build .* failed: .*invalid literal source \[redacted\], expected key=value/);
      expect(result.code).toBe(2);
    }, 60_000); // kustomize is provided before the tests (scripts/run.sh)
  });

  describe("kubeconfigs", () => {
    const fault = (token: string, key: string) =>
      `apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: ${token}\n    client-key-data: ${base64(key)}\n    password: [unclosed ${token}\n`;

    it("one that is not valid YAML, next to its token and key: storage-status and the conformance run", async () => {
      const token = secret("kubeconfig token");
      const key = secret("kubeconfig client key");
      const path = join(temp("sc-corpus-kube-"), "config");
      writeFileSync(path, fault(token, key));
      const status = await run("storage-status, malformed kubeconfig", "storage-status", ["--kubeconfig", path]);
      expect(status.code).toBe(2);
      expect(status.stderr.trim()).toMatch(new RegExp(`^error: kubeconfig ${path} is not valid YAML at line \\d+: [a-z ()]+$`));
      const conformance = await run("conformance, malformed kubeconfig", "conformance", ["--kubeconfig", path]);
      // After the manifests' warnings (the design's missing NetworkPolicy), which the run prints first.
      expect(conformance.stderr.trim()).toMatch(new RegExp(`(^|\\n)error: kubeconfig ${path} is not valid YAML at line \\d+`));
      await run("--cleanup, malformed kubeconfig", "conformance", ["--cleanup", "--kubeconfig", path]);
    }, 60_000);

    it("a binary file", async () => {
      const token = secret("binary kubeconfig");
      const path = join(temp("sc-corpus-kube-"), "config");
      writeFileSync(path, Buffer.concat([Buffer.from([0x1f, 0x8b, 0, 0xff]), Buffer.from(`token: ${token}\n`)]));
      const status = await run("storage-status, binary kubeconfig", "storage-status", ["--kubeconfig", path]);
      expect(status.stderr.trim()).toBe(`error: kubeconfig ${path} is not a text file (it holds binary data)`);
    }, 60_000);

    it("one whose structure the client rejects", async () => {
      const token = secret("kubeconfig bad structure");
      const path = join(temp("sc-corpus-kube-"), "config");
      writeFileSync(
        path,
        `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "${token}"}\nusers:\n- name: u\n  user: {token: ${token}}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n`,
      );
      const status = await run("storage-status, kubeconfig structure", "storage-status", ["--kubeconfig", path]);
      expect(status.code).toBe(2);
    }, 60_000);
  });

  describe("command-line arguments", () => {
    it("a password pasted where no argument belongs", async () => {
      const pasted = secret("positional argument");
      const option = secret("unknown option value");
      await run("storage-status, positional", "storage-status", [pasted]);
      await run("conformance, positional", "conformance", ["--static-only", pasted]);
      await run("storage-monitor, unknown option", "storage-monitor", [`--password=${option}`]);
      const result = await run("backup-db, positional", "backup-db", ["--output", join(tmpdir(), "x.sql"), pasted]);
      expect(result.stderr).toMatch(/^error: this command takes no positional arguments \(one was given; not shown/);
    }, 60_000);
  });

  describe("cluster errors that quote credentials", () => {
    let server: FakeServer;
    let echoed = "";
    beforeAll(async () => {
      // An API server (or a proxy in front of it) that quotes the request's credentials in its errors.
      server = await answeringServer((req) => {
        echoed = String(req.headers.authorization ?? "");
        return { status: 500, body: { kind: "Status", status: "Failure", code: 500, message: `proxy: credentials ${echoed} are not valid for ${req.url}` } };
      });
    });
    afterAll(() => server.close());

    it("a refused token, quoted back by the server", async () => {
      const token = secret("token quoted by the cluster");
      const path = writeKubeconfig(temp("sc-corpus-kube-"), server.url, { token });
      const status = await run("storage-status, 500 quoting the token", "storage-status", ["--kubeconfig", path]);
      expect(echoed).toBe(`Bearer ${token}`);
      expect(status.stderr).toMatch(/HTTP 500: proxy: credentials Bearer \[redacted\] are not valid/);
      await run("conformance, 500 quoting the token", "conformance", ["--kubeconfig", path]);
      await run("--cleanup, 500 quoting the token", "conformance", ["--cleanup", "--kubeconfig", path]);
    }, 60_000);
  });

  afterAll(() => {
    // The test's own search of everything: all output, and every file any run wrote to its reports folder.
    const reportFiles = reportDirs.flatMap(filesUnder);
    const found = [
      ...outputs.flatMap((o) => leaked(o.text).map((l) => `${o.what}: ${l}`)),
      ...reportFiles.flatMap((f) => leaked(readFileSync(f, "utf8")).map((l) => `${f}: ${l}`)),
    ];
    expect(found).toEqual([]);
    expect(corpus.size).toBeGreaterThanOrEqual(14);
    expect(
      reportFiles.some((f) => f.endsWith("results.json")),
      "some runs wrote reports, and they were searched",
    ).toBe(true);
  });
});
