import { spawn } from "node:child_process";
import { managedByKey, managedByValue, runLabel } from "../labels.ts";

/**
 * Testcontainers' Ryuk cannot run where no image can be pulled (and its module
 * is not on the Go proxy), so this is the reaper: a detached shell that waits
 * for this process to end, however it ends (Ctrl-C, a crash, SIGKILL), and
 * removes every container labelled with this run's id. A clean stop has
 * removed them already; then it finds nothing.
 */
export function startReaper(runId: string): void {
  const filter = `label=${runLabel}=${runId}`;
  const script = [
    `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done`,
    `ids=$(docker ps -aq --filter '${filter}' --filter 'label=${managedByKey}=${managedByValue}')`,
    `[ -n "$ids" ] && docker rm -f -v $ids >/dev/null 2>&1`,
    "exit 0",
  ].join("; ");
  const child = spawn("bash", ["-c", script], { detached: true, stdio: "ignore" });
  child.unref();
}
