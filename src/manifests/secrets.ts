import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { isSecretName, withDecoded } from "../redact.ts";
import type { LoadedObject } from "./load.ts";

interface EnvVar {
  name?: unknown;
  value?: unknown;
}

/** Every secret value the manifests carry (Secret data and literal password env), for redaction. */
export function secretValues(objects: LoadedObject[]): string[] {
  const values: string[] = [];
  for (const { object } of objects) {
    if (object.kind === "Secret") {
      for (const v of Object.values((object.stringData as Record<string, unknown>) ?? {})) values.push(String(v));
      for (const v of Object.values((object.data as Record<string, unknown>) ?? {})) values.push(...withDecoded(String(v), true));
    }
    const pod =
      (object.spec as { template?: { spec?: Record<string, unknown> } } | undefined)?.template?.spec ??
      (object.kind === "Pod" ? (object.spec as Record<string, unknown>) : undefined);
    const containers = [...((pod?.containers as { env?: EnvVar[] }[] | undefined) ?? []), ...((pod?.initContainers as { env?: EnvVar[] }[] | undefined) ?? [])];
    for (const c of containers) {
      for (const e of Array.isArray(c.env) ? c.env : []) {
        if (typeof e?.name === "string" && isSecretName(e.name) && e.value !== undefined && e.value !== null) values.push(String(e.value));
      }
    }
  }
  return [...new Set(values.filter((v) => v.length > 0))];
}

/**
 * The values a kustomization generates Secrets from (secretGenerator
 * literals, files, env files): kustomize quotes them in its errors.
 */
export function kustomizationSecrets(dir: string, file: string): string[] {
  const values: string[] = [];
  let parsed: unknown;
  try {
    parsed = parse(readFileSync(join(dir, file), "utf8"), { uniqueKeys: false, maxAliasCount: 100 });
  } catch {
    return [];
  }
  const generators = (parsed as { secretGenerator?: { literals?: unknown[]; files?: unknown[]; envs?: unknown[]; env?: unknown } } | undefined)
    ?.secretGenerator;
  for (const generator of Array.isArray(generators) ? generators : []) {
    for (const literal of Array.isArray(generator?.literals) ? generator.literals : []) {
      const text = String(literal);
      values.push(text, text.slice(text.indexOf("=") + 1));
    }
    const files = [
      ...(Array.isArray(generator?.files) ? generator.files : []),
      ...(Array.isArray(generator?.envs) ? generator.envs : []),
      ...(generator?.env ? [generator.env] : []),
    ];
    for (const entry of files) {
      const path = String(entry).replace(/^[^=]*=/, "");
      try {
        const content = readFileSync(join(dir, path), "utf8");
        values.push(content.trim(), ...content.split("\n").flatMap((l) => [l.trim(), l.slice(l.indexOf("=") + 1).trim()]));
      } catch {
        // a file kustomize will name as missing
      }
    }
  }
  return [...new Set(values.filter((v) => v.length >= 4))];
}
