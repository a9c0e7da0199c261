import { pollIntervals } from "../timeouts.ts";
import { randomBytes } from "node:crypto";
import type { Kube } from "./client.ts";
import { describeApiError, isNotFound } from "./client.ts";
import { waitFor } from "./wait.ts";

import { managedBy, managedByKey, managedByValue, runLabel, runLabelValue } from "../labels.ts";

export { runLabel, runLabelValue } from "../labels.ts";

/** Namespaces of one run (what Ctrl-C removes). */
export const runSelector = (runId: string): string => `${managedByKey}=${managedByValue},${runLabel}=${runLabelValue(runId)}`;

/** Namespaces of every run (what --cleanup removes): made by this suite, with a run label. */
export const anyRunSelector = `${managedByKey}=${managedByValue},${runLabel}`;

const toIso = (t: Date | string | undefined): string => (t instanceof Date ? t.toISOString().replace(/\.\d+Z$/, "Z") : String(t ?? "?"));

export interface RemovedNamespace {
  name: string;
  run: string;
  created: string;
  /** Already Terminating before this call, or gone meanwhile. */
  note?: string;
}

/**
 * Deletes every namespace matching `selector` (without waiting for them to
 * go: their volumes are released by the cluster) and returns what it deleted.
 */
export async function deleteNamespacesLabelled(kube: Kube, selector: string): Promise<RemovedNamespace[]> {
  let items;
  try {
    items = (await kube.core.listNamespace({ labelSelector: selector })).items;
  } catch (error) {
    throw new Error(`listing namespaces labelled ${selector} on ${kube.server} failed: ${describeApiError(error)}`);
  }
  const removed: RemovedNamespace[] = [];
  for (const ns of items) {
    const name = ns.metadata?.name;
    if (!name) continue;
    const entry: RemovedNamespace = { name, run: ns.metadata?.labels?.[runLabel] ?? "?", created: toIso(ns.metadata?.creationTimestamp) };
    if (ns.status?.phase === "Terminating") entry.note = "already terminating";
    try {
      await kube.core.deleteNamespace({ name });
    } catch (error) {
      if (!isNotFound(error)) throw new Error(`deleting namespace ${name} failed: ${describeApiError(error)}`);
      entry.note = "already gone";
    }
    removed.push(entry);
  }
  return removed;
}

/** A fresh namespace for one check, labelled with the run so it can be found and removed. */
export async function createNamespace(kube: Kube, purpose: string, runId: string): Promise<string> {
  const name = `sc-${purpose}-${randomBytes(3).toString("hex")}`.slice(0, 63);
  try {
    await kube.core.createNamespace({
      body: { metadata: { name, labels: { ...managedBy, [runLabel]: runLabelValue(runId) } } },
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
    if (ns.metadata?.labels?.[managedByKey] !== managedByValue) {
      throw new Error(`refusing to delete namespace ${name}: this run did not create it`);
    }
    await kube.core.deleteNamespace({ name });
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  if (!options.wait) return;
  await waitFor(
    async () =>
      kube.core.readNamespace({ name }).then(
        (ns) => ns.status?.phase ?? "?",
        (e) => (isNotFound(e) ? "gone" : Promise.reject(e)),
      ),
    (phase) => phase === "gone",
    { what: `namespace ${name} to be deleted`, timeoutMs: options.timeoutMs, intervalMs: pollIntervals.clusterMs },
  );
}
