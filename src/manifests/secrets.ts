import type { LoadedObject } from "./load.ts";

/** Every secret value the manifests carry (Secret data and literal password env), for redaction. */
export function secretValues(objects: LoadedObject[]): string[] {
  const values: string[] = [];
  for (const { object } of objects) {
    if (object.kind === "Secret") {
      for (const v of Object.values((object.stringData as Record<string, string>) ?? {})) values.push(String(v));
      for (const v of Object.values((object.data as Record<string, string>) ?? {})) {
        values.push(String(v), Buffer.from(String(v), "base64").toString("utf8"));
      }
    }
    const containers = (object.spec as { template?: { spec?: { containers?: { env?: { name: string; value?: string }[] }[] } } })
      ?.template?.spec?.containers ?? [];
    for (const c of containers) {
      for (const e of c.env ?? []) if (/PASSWORD|SECRET|TOKEN/i.test(e.name) && e.value) values.push(e.value);
    }
  }
  return [...new Set(values.filter((v) => v.length > 0))];
}
