import { PassThrough, type Readable, type Writable } from "node:stream";
import { Exec, type V1Status } from "@kubernetes/client-node";
import type { Kube } from "./client.ts";

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command in a pod's container. stdout goes to `options.stdout` when
 * given (a file, a hash), else it is collected; `options.stdin` is streamed in.
 * The exit code comes from the V1Status the API server sends at the end.
 */
export async function execInPod(
  kube: Kube,
  target: { namespace: string; pod: string; container: string },
  command: string[],
  options: { stdin?: Readable; stdout?: Writable; timeoutMs: number },
): Promise<ExecResult> {
  const stdoutChunks: Buffer[] = [];
  const stderrChunks: Buffer[] = [];
  const stdout = options.stdout ?? new PassThrough().on("data", (c: Buffer) => stdoutChunks.push(c));
  const stderr = new PassThrough().on("data", (c: Buffer) => stderrChunks.push(c));
  const exec = new Exec(kube.config);
  return new Promise<ExecResult>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`exec of ${command[0]} in ${target.namespace}/${target.pod} did not finish within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    let settled = false;
    const done = (status: V1Status) => {
      settled = true;
      clearTimeout(timer);
      const code = status.status === "Success" ? 0 : Number(status.details?.causes?.find((c) => c.reason === "ExitCode")?.message ?? 1);
      // Give the stdout stream the chance to flush its last chunk.
      setImmediate(() =>
        resolve({ exitCode: code, stdout: Buffer.concat(stdoutChunks).toString("utf8"), stderr: Buffer.concat(stderrChunks).toString("utf8") }),
      );
    };
    exec
      .exec(target.namespace, target.pod, target.container, command, stdout, stderr, options.stdin ?? null, false, done)
      .then((ws) => {
        ws.on("error", (error: Error) => reject(error));
        // A command that exits while its stdin is still streaming (a client that
        // stops at the first SQL error) can close the connection with no status:
        // fail at once with what it printed, not at the deadline.
        ws.on("close", () =>
          setTimeout(() => {
            if (settled) return;
            clearTimeout(timer);
            const stderrText = Buffer.concat(stderrChunks).toString("utf8").trim();
            reject(
              new Error(
                `exec of ${command[0]} in ${target.namespace}/${target.pod} ended without an exit status${stderrText ? `; it printed: ${stderrText.split("\n").slice(0, 3).join(" | ")}` : ""}`,
              ),
            );
          }, 1000),
        );
      })
      .catch((error: unknown) => {
        clearTimeout(timer);
        reject(error);
      });
  });
}

/**
 * Runs a command in a pod's container and returns its stdout; a non-zero exit
 * is an error naming the command, the pod and what it printed on stderr.
 */
export async function execChecked(
  kube: Kube,
  target: { namespace: string; pod: string; container: string },
  command: string[],
  timeoutMs: number,
): Promise<string> {
  const result = await execInPod(kube, target, command, { timeoutMs });
  if (result.exitCode !== 0) throw new Error(`\`${command.join(" ")}\` in pod ${target.pod} exited ${result.exitCode}: ${result.stderr.trim()}`);
  return result.stdout;
}
