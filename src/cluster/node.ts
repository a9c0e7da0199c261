import { getContainerRuntimeClient } from "testcontainers";
import { waitFor } from "../kube/wait.ts";
import { pollIntervals, timeouts } from "../timeouts.ts";

/** Runs a command on the node container of an embedded cluster (not through Kubernetes). */
export async function execOnNode(containerId: string, command: string[]): Promise<{ exitCode: number; output: string }> {
  const client = await getContainerRuntimeClient();
  const result = await client.container.exec(client.container.getById(containerId), command);
  return { exitCode: result.exitCode, output: result.output };
}

/** The last lines of the node's own logs (kubelet, containerd...), for diagnostics. */
export async function nodeComponentLogs(containerId: string, lines = 60): Promise<Record<string, string>> {
  const logs: Record<string, string> = {};
  const listing = await execOnNode(containerId, ["sh", "-c", "ls /var/log/kubenode 2>/dev/null"]);
  for (const file of listing.output.split(/\s+/).filter((f) => f.endsWith(".log"))) {
    logs[file] = (await execOnNode(containerId, ["tail", "-n", String(lines), `/var/log/kubenode/${file}`])).output;
  }
  return logs;
}

/** Waits until `path` exists on the node container (a marker the node writes). */
export async function waitForNodeFile(containerId: string, path: string, what: string): Promise<void> {
  await waitFor(
    () => execOnNode(containerId, ["test", "-e", path]),
    (result) => result.exitCode === 0,
    { what, timeoutMs: timeouts.clusterStartMs, intervalMs: pollIntervals.defaultMs, describe: () => `${path} not there yet` },
  );
}
