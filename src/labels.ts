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

/**
 * The labels of the application the design serves: the pods that may talk to
 * MySQL. The suite's own application is the ledger writer (src/ledger/), so
 * its label is the application's; the NetworkPolicy of fixtures/network-policy/
 * admits exactly these, and the security suite's probes that stand for the
 * application carry them.
 */
export const applicationLabels = { "app.kubernetes.io/name": "ledger-writer" } as const;
