import { inInstallOrder, placedIn } from "../kube/apply.ts";
import { describeApiError, type Kube } from "../kube/client.ts";
import { serverSideApply } from "../kube/raw-apply.ts";
import type { LoadedObject } from "../manifests/load.ts";

/**
 * Server-side dry-run applies with fieldValidation=Strict into `namespace`:
 * the live API server's own schema judges each object. Returns the rejections
 * and warnings, each with the object's file and line.
 */
export async function validateLive(kube: Kube, namespace: string, objects: LoadedObject[]): Promise<{ rejected: string[]; warnings: string[] }> {
  const rejected: string[] = [];
  const warnings: string[] = [];
  for (const { object, file, line } of inInstallOrder(objects)) {
    try {
      warnings.push(...(await serverSideApply(kube, placedIn(object, namespace), { dryRun: true })).warnings.map((w) => `${file}:${line} ${w}`));
    } catch (error) {
      rejected.push(`${file}:${line} ${object.kind}/${object.metadata.name}: ${describeApiError(error)}`);
    }
  }
  return { rejected, warnings };
}
