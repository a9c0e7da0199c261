import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  StorageV1Api,
  VersionApi,
} from "@kubernetes/client-node";

/** The API clients of one cluster, made once from its kubeconfig. */
export interface Kube {
  config: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  storage: StorageV1Api;
  objects: KubernetesObjectApi;
  version: VersionApi;
  /** The API server URL, for messages. */
  server: string;
}

export function connect(kubeconfig: string): Kube {
  const config = new KubeConfig();
  config.loadFromString(kubeconfig);
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    apps: config.makeApiClient(AppsV1Api),
    storage: config.makeApiClient(StorageV1Api),
    objects: KubernetesObjectApi.makeApiClient(config),
    version: config.makeApiClient(VersionApi),
    server: config.getCurrentCluster()?.server ?? "(no server in kubeconfig)",
  };
}

/**
 * A one-line description of an API error. ApiException messages embed the
 * whole response, headers included; only the status and the server's message
 * may reach a log or report.
 */
export function describeApiError(error: unknown): string {
  const e = error as { code?: number; body?: unknown; message?: string; cause?: { code?: string } };
  if (typeof e?.code === "number") {
    let message = "";
    try {
      const body = typeof e.body === "string" ? JSON.parse(e.body) : e.body;
      message = (body as { message?: string })?.message ?? "";
    } catch {
      message = String(e.body ?? "").slice(0, 200);
    }
    return `HTTP ${e.code}${message ? `: ${message}` : ""}`;
  }
  const causeCode = e?.cause?.code ? ` (${e.cause.code})` : "";
  return `${String(e?.message ?? error).split("\n")[0]}${causeCode}`;
}

export function isNotFound(error: unknown): boolean {
  return (error as { code?: number })?.code === 404;
}

/** Fails fast, with the cause and the fix, when the cluster cannot be reached. */
export async function assertReachable(kube: Kube, origin: string): Promise<string> {
  try {
    const info = await kube.version.getCode();
    return info.gitVersion;
  } catch (error) {
    const reason = describeApiError(error);
    const hint = /401|403/.test(reason)
      ? "the credentials in the kubeconfig were refused; check its user entry"
      : "check that the cluster is running and the kubeconfig's server address is reachable from here";
    throw new Error(`cannot reach the Kubernetes API at ${kube.server} (kubeconfig: ${origin}): ${reason}; ${hint}`);
  }
}
