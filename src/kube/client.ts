import { AppsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, StorageV1Api, VersionApi } from "@kubernetes/client-node";
import { timeouts } from "../timeouts.ts";

type RequestContext = Parameters<KubeConfig["applySecurityAuthentication"]>[0];

/**
 * Every request the typed clients send passes through here: each gets a
 * deadline (timeouts.apiRequestMs), so an API server that accepts the
 * connection and never answers fails in seconds, not after undici's 300 s.
 */
class DeadlineKubeConfig extends KubeConfig {
  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    context.setSignal(AbortSignal.timeout(timeouts.apiRequestMs));
  }
}

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
  /** Ends the waits of whoever holds this client (a check's timeout, Ctrl-C). */
  signal?: AbortSignal;
}

export function connect(kubeconfig: string, options: { signal?: AbortSignal } = {}): Kube {
  const config = new DeadlineKubeConfig();
  config.loadFromString(kubeconfig);
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    apps: config.makeApiClient(AppsV1Api),
    storage: config.makeApiClient(StorageV1Api),
    objects: KubernetesObjectApi.makeApiClient(config),
    version: config.makeApiClient(VersionApi),
    server: config.getCurrentCluster()?.server ?? "(no server in kubeconfig)",
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

/**
 * A one-line description of an API error. ApiException messages embed the
 * whole response, headers included; only the status and the server's message
 * may reach a log or report.
 */
export function describeApiError(error: unknown): string {
  const e = error as { name?: string; code?: number; body?: unknown; message?: string; cause?: { code?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") {
    return `the API server accepted the connection but did not answer within ${Math.round(timeouts.apiRequestMs / 1000)} s (a slow or overloaded cluster, or something else listening on that port; SC_TIMEOUT_API_REQUEST_MS sets the deadline)`;
  }
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
  const cause = causeOf(e?.cause);
  return `${String(e?.message ?? error).split("\n")[0]}${cause ? `: ${cause}` : ""}`;
}

/**
 * What a network failure's cause says (`connect ECONNREFUSED 127.0.0.1:6443`,
 * `getaddrinfo ENOTFOUND api.example`): fetch reports only "fetch failed" and
 * keeps the reason in `cause`, one per address when a name had several.
 */
function causeOf(cause: unknown): string | undefined {
  const c = cause as { message?: string; code?: string; errors?: { message?: string }[] } | undefined;
  if (!c) return undefined;
  if (c.message) return c.message.split("\n")[0];
  const each = (c.errors ?? []).map((e) => e?.message).filter(Boolean);
  if (each.length) return [...new Set(each)].join(", ");
  return c.code;
}

export function isNotFound(error: unknown): boolean {
  return (error as { code?: number })?.code === 404;
}

/** Fails fast, with the cause and the fix, when the cluster cannot be reached. */
export async function assertReachable(kube: Kube, origin: string, timeoutMs: number = timeouts.apiReachableMs): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error("deadline"), { name: "TimeoutError" })), timeoutMs);
  });
  try {
    const info = await Promise.race([kube.version.getCode(), deadline]);
    return info.gitVersion;
  } catch (error) {
    const slow = (error as { name?: string }).name === "TimeoutError" || (error as { name?: string }).name === "AbortError";
    const reason = slow
      ? `the API server accepted the connection but did not answer within ${Math.round(Math.min(timeoutMs, timeouts.apiRequestMs) / 1000)} s: a slow or overloaded cluster (SC_TIMEOUT_API_REACHABLE_MS, SC_TIMEOUT_API_REQUEST_MS set the deadlines)`
      : describeApiError(error);
    const hint = slow
      ? "check the cluster's health, or that the kubeconfig's server address is the API server"
      : /401|403/.test(reason)
        ? "the credentials in the kubeconfig were refused; check its user entry"
        : "check that the cluster is running and the kubeconfig's server address is reachable from here";
    throw new Error(`cannot reach the Kubernetes API at ${kube.server} (kubeconfig: ${origin}): ${reason}; ${hint}`);
  } finally {
    clearTimeout(timer);
  }
}
