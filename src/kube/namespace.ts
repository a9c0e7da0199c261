import { randomBytes } from "node:crypto";
import type { Kube } from "./client.ts";
import { describeApiError, isNotFound } from "./client.ts";
import { waitFor } from "./wait.ts";

export const managedBy = { "app.kubernetes.io/managed-by": "storage-conformance" } as const;
export const runLabel = "storage-conformance/run";

/** A fresh namespace for one check, labelled with the run so it can be found and removed. */
export async function createNamespace(kube: Kube, purpose: string, runId: string): Promise<string> {
  const name = `sc-${purpose}-${randomBytes(3).toString("hex")}`.slice(0, 63);
  try {
    await kube.core.createNamespace({
      body: { metadata: { name, labels: { ...managedBy, [runLabel]: runId.replace(/[^a-zA-Z0-9-]/g, "-") } } },
    });
  } catch (error) {
    throw new Error(`creating namespace ${name} failed: ${describeApiError(error)}`);
  }
  return name;
}

/** Deletes a namespace this run created; with `wait`, until it is gone (its volumes released). */
export async function deleteNamespace(kube: Kube, name: string, options: { wait?: boolean; timeoutMs: number }): Promise<void> {
  try {
    const ns = await kube.core.readNamespace({ name });
    if (ns.metadata?.labels?.["app.kubernetes.io/managed-by"] !== managedBy["app.kubernetes.io/managed-by"]) {
      throw new Error(`refusing to delete namespace ${name}: this run did not create it`);
    }
    await kube.core.deleteNamespace({ name });
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  if (!options.wait) return;
  await waitFor(
    async () => kube.core.readNamespace({ name }).then((ns) => ns.status?.phase ?? "?", (e) => (isNotFound(e) ? "gone" : Promise.reject(e))),
    (phase) => phase === "gone",
    { what: `namespace ${name} to be deleted`, timeoutMs: options.timeoutMs, intervalMs: 500 },
  );
}
