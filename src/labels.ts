/**
 * The labels on everything this project creates, in Kubernetes (namespaces,
 * helper pods, the `standard` class) and in Docker (node containers), so a run's
 * own cleanup, `--cleanup` and the reaper find them: one spelling for both.
 */
export const managedByKey = "app.kubernetes.io/managed-by";
export const managedByValue = "storage-conformance";
export const managedBy = { [managedByKey]: managedByValue } as const;
/** The run's id (as a label value: see runLabelValue). */
export const runLabel = "storage-conformance/run";

/** A run id as a label value (letters, digits and - only). */
export const runLabelValue = (runId: string): string => runId.replace(/[^a-zA-Z0-9-]/g, "-");
