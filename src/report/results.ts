/** The results of one run: the model every report writer renders. No Kubernetes or MySQL code here. */
import type { AckTimeline, MilestoneTimeline } from "../timelines.ts";

export type CheckStatus = "passed" | "failed" | "skipped";

export interface Value {
  value: number | string | boolean;
  unit: string;
}

export interface CheckResult {
  suite: string;
  name: string;
  status: CheckStatus;
  values: Record<string, Value>;
  /** Why it failed or was skipped; for a pass, empty. */
  message: string;
  durationMs: number;
  /** Facts worth reading that are not failures. */
  notes?: string[];
  /** Namespace state collected when it failed (claims, pods, events, logs). */
  diagnostics?: string;
  /**
   * The files behind the diagnostics (events.txt, objects.yaml, logs/<pod>.<container>.log,
   * node/<component>.log on the embedded cluster), by relative path. Written into the
   * check's folder under failures/, never into results.json.
   */
  diagnosticFiles?: Record<string, string>;
  /** That folder, relative to the run's report folder (set when the reports are written). */
  diagnosticsDir?: string;
  /** Acknowledged commits over time (the ledger writer), with the disruptions and recoveries marked. */
  timeline?: AckTimeline;
  /** A disruption's milestones (node NotReady, pod evicted, replacement Ready...), in seconds from it. */
  milestones?: MilestoneTimeline;
}

/** What the conformance command hands the reporter of a live run. */
export interface ReportSettings {
  /** Where the reports go; without it (a plain `npm test`) nothing is written outside the terminal. */
  reportsDir?: string;
  /** Values never to appear in a report: what the conformance command redacts (the manifests' secrets, the kubeconfig's credentials); a bare `npm test` has the cluster's setup provide the manifests' secrets instead. */
  secrets?: string[];
  /** The static findings, as checks, put first in the run's results. */
  staticChecks?: CheckResult[];
  /** Where the run did not apply the manifests as written (e.g. --storage-class). */
  deviations?: string[];
}

export interface RunResults {
  runId: string;
  startedAt: string;
  finishedAt: string;
  durationS: number;
  manifestsDir: string;
  cluster?: Record<string, unknown>;
  /** The engine asked for (--engine), the image swapped in for it, and every server version the checks met. */
  engine?: { name: string; image?: string; serverVersions: string[] };
  timeoutOverrides: string[];
  /** Where the run did not apply the manifests as written (e.g. --storage-class). */
  deviations?: string[];
  /** A run merged from shards (src/report/merge.ts): each shard's run, duration and suites. */
  shards?: { name: string; runId: string; durationS: number; suites: string[] }[];
  summary: Record<CheckStatus, number>;
  checks: CheckResult[];
}

/** The check's findings: a claim of the design these manifests do not keep (notes written as "finding: ..."), which a check reports rather than fails. */
export function findingsOf(check: CheckResult): string[] {
  return (check.notes ?? []).filter((n) => n.startsWith("finding: ")).map((n) => n.slice("finding: ".length));
}

export function summarise(checks: CheckResult[]): Record<CheckStatus, number> {
  const summary: Record<CheckStatus, number> = { passed: 0, failed: 0, skipped: 0 };
  for (const c of checks) summary[c.status]++;
  return summary;
}

/** The distinct server versions the checks recorded (value `server_version`), in order of appearance. */
export function serverVersionsOf(checks: CheckResult[]): string[] {
  const seen = new Set<string>();
  for (const c of checks) {
    const v = c.values.server_version?.value;
    if (typeof v === "string") for (const version of v.split(", ")) if (version) seen.add(version);
  }
  return [...seen];
}
