import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo, Server } from "node:net";
import { join } from "node:path";

/**
 * Stand-ins for a cluster, on 127.0.0.1 only: an API server that completes
 * TLS and never answers HTTP (a slow cluster), and one that answers from a
 * handler (namespaces to list and delete, errors to quote).
 */
export interface FakeServer {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

const made: string[] = [];

/** A temporary folder, removed by removeTempDirs (call it in afterAll). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

const fixtures = new URL("../../fixtures/", import.meta.url);

async function listen(server: Server, scheme: string, requests: string[]): Promise<FakeServer> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** TLS completes; the HTTP request is read and never answered. */
export function silentTlsServer(): Promise<FakeServer> {
  const requests: string[] = [];
  const server = createTlsServer(
    { key: readFileSync(new URL("fake-apiserver.key", fixtures)), cert: readFileSync(new URL("fake-apiserver.crt", fixtures)) },
    (req: IncomingMessage) => requests.push(`${req.method} ${req.url}`),
  );
  return listen(server, "https", requests);
}

export type Handler = (req: IncomingMessage, body: string) => { status: number; body: unknown } | undefined;

/** Plain HTTP API server answering from `handler`; a request the handler returns nothing for is never answered. */
export function answeringServer(handler: Handler): Promise<FakeServer> {
  const requests: string[] = [];
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests.push(`${req.method} ${req.url}`);
      const answer = handler(req, Buffer.concat(chunks).toString("utf8"));
      if (!answer) return;
      res.writeHead(answer.status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(answer.body));
    });
  });
  return listen(server, "http", requests);
}

export function writeKubeconfig(dir: string, server: string, user: Record<string, string>): string {
  const path = join(dir, "kubeconfig");
  writeFileSync(
    path,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      `- name: fake\n  cluster:\n    server: ${server}\n    insecure-skip-tls-verify: true`,
      "users:",
      `- name: fake\n  user:\n${Object.entries(user)
        .map(([k, v]) => `    ${k}: ${v}`)
        .join("\n")}`,
      "contexts:",
      "- name: fake\n  context: {cluster: fake, user: fake, namespace: shop}",
      "current-context: fake",
      "",
    ].join("\n"),
  );
  return path;
}

const projectFolder = new URL("../../../", import.meta.url).pathname;
const bin = `${projectFolder}bin/storage-conformance.js`;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs a subcommand of storage-conformance as a user would (node bin/storage-conformance.js NAME;
 * "conformance" is `run`, as npm run conformance), in the project's folder unless `cwd` is given,
 * without blocking this process's fake servers.
 */
export function runCli(
  name: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
  /** Called with the child once started (e.g. to signal it), in a process group of its own as a terminal would make. */
  started_?: (child: ReturnType<typeof spawn>) => void,
  cwd: string = projectFolder,
): Promise<CliRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, name === "conformance" ? "run" : name, ...args], {
      cwd,
      env: { ...process.env, KUBECONFIG: "", SC_REPORTS_DIR: "", GITHUB_STEP_SUMMARY: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: started_ !== undefined,
    });
    started_?.(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const timer = setTimeout(() => (started_ ? process.kill(-child.pid!, "SIGKILL") : child.kill("SIGKILL")), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}
