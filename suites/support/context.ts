import type { ClusterInfo } from "../../src/cluster/index.ts";

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
  };
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
  }
  interface TaskMeta {
    values?: Record<string, MeasuredValue>;
    notes?: string[];
    diagnostics?: string;
  }
}
