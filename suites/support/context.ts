import type { ClusterInfo } from "../../src/cluster/index.ts";
import type { Engine } from "../../src/mysql/engines.ts";

/** Facts about the run that reports may show: no kubeconfig, no secret. */
export interface RunFacts {
  runId: string;
  manifestsDir: string;
  cluster: {
    kind: ClusterInfo["kind"];
    origin: string;
    serverVersion: string;
    image?: string;
    imageSource?: string;
    imageReason?: string;
    privileged?: string;
    startSeconds?: number;
    /** Offline node only: which server each database image name serves, from the image's labels. */
    offlineEngines?: string;
  };
  /** The engine asked for, and the image swapped in for it (none: the manifests' own). */
  engine: { name: Engine; image?: string };
  timeoutOverrides: string[];
}

export interface MeasuredValue {
  value: number | string | boolean;
  unit: string;
}

declare module "vitest" {
  interface ProvidedContext {
    /** Set instead of cluster when the cluster could not be started or reached. */
    clusterError: string;
    cluster: ClusterInfo;
    runFacts: RunFacts;
    /** The manifests' secret values, for the reporter to redact (never through the environment); none under the conformance command, whose reportSettings.secrets hold them. */
    secrets: string[];
    /** The conformance command's settings for the reporter (reports folder, credentials to redact, static findings). */
    reportSettings: import("../../src/report/results.ts").ReportSettings;
    /** The run's settings: from the conformance command, or from the environment under a bare `npm test`. */
    runSettings: import("../../src/run/settings.ts").RunSettings;
  }
  interface TaskMeta {
    values?: Record<string, MeasuredValue>;
    notes?: string[];
    diagnostics?: string;
    /** The files behind the diagnostics, by relative path (see CheckResult.diagnosticFiles). */
    diagnosticFiles?: Record<string, string>;
    timeline?: import("../../src/timelines.ts").AckTimeline;
    milestones?: import("../../src/timelines.ts").MilestoneTimeline;
  }
}
