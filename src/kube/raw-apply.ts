import { request } from "node:https";
import { KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import type { Kube } from "./client.ts";
import { timeouts } from "../timeouts.ts";

/** KubernetesObjectApi's own discovery (kind → resource path), without its typed serialiser. */
class ResourcePaths extends KubernetesObjectApi {
  pathOf(spec: KubernetesObject): Promise<string> {
    return this.specUriPath(spec, "patch");
  }
}

const paths = new WeakMap<Kube, ResourcePaths>();

export interface ApplyOutcome {
  /** Warnings the API server sent (fieldValidation=Warn would put unknown fields here). */
  warnings: string[];
}

/**
 * Server-side apply of the object exactly as written, with fieldValidation=Strict:
 * an unknown or duplicate field is rejected by the API server's own schema,
 * naming the field path. (The typed client drops fields it does not know
 * before sending, which would hide exactly those mistakes.) `dryRun` validates
 * and admits without persisting.
 */
export async function serverSideApply(kube: Kube, object: KubernetesObject, options: { dryRun?: boolean } = {}): Promise<ApplyOutcome> {
  let resolver = paths.get(kube);
  if (!resolver) {
    resolver = kube.config.makeApiClient(ResourcePaths);
    paths.set(kube, resolver);
  }
  const path = await resolver.pathOf(structuredClone(object));
  const query = new URLSearchParams({
    fieldManager: "storage-conformance",
    force: "true",
    fieldValidation: "Strict",
    ...(options.dryRun ? { dryRun: "All" } : {}),
  });
  const url = new URL(`${kube.server.replace(/\/$/, "")}${path}?${query}`);
  const httpsOptions: Parameters<typeof request>[1] = {
    method: "PATCH",
    headers: { "Content-Type": "application/apply-patch+yaml", Accept: "application/json" },
  };
  await kube.config.applyToHTTPSOptions(httpsOptions);
  const body = JSON.stringify(object);
  return new Promise((resolve, reject) => {
    const req = request(url, httpsOptions, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const warningHeader = res.headers.warning;
        const warnings = (Array.isArray(warningHeader) ? warningHeader : warningHeader ? [warningHeader] : []).map((w) => w.replace(/^\d+ \S+ "?|"$/g, ""));
        if ((res.statusCode ?? 500) < 300) return resolve({ warnings });
        let message = text;
        try {
          message = (JSON.parse(text) as { message?: string }).message ?? text;
        } catch {
          // not JSON: keep the text
        }
        reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${message}`), { code: res.statusCode, body: text }));
      });
    });
    req.setTimeout(timeouts.apiRequestMs, () =>
      req.destroy(
        new Error(`the API server did not answer the apply of ${object.kind}/${object.metadata?.name} within ${Math.round(timeouts.apiRequestMs / 1000)} s`),
      ),
    );
    req.on("error", reject);
    req.end(body);
  });
}
