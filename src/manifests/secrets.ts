import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { LoadedObject } from "./load.ts";

/**
 * Names of variables and keys that hold credentials. One pattern for the
 * plaintext-password rule (credentials-from-secret) and for redaction, so
 * what the rule flags is also what never gets printed.
 */
export const secretNamePattern = /PASSWORD|PASSWD|PASSPHRASE|PWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY/i;

export const isSecretName = (name: string): boolean => secretNamePattern.test(name);

interface EnvVar {
  name?: unknown;
  value?: unknown;
}

/** The forms a secret value can take in output: itself, and decoded when it is base64 data. */
function withDecoded(value: string, base64: boolean): string[] {
  if (!base64) return [value];
  const decoded = Buffer.from(value, "base64").toString("utf8");
  // A PEM key decoded from *-data fields: its body lines are secret one by one too.
  const lines = decoded.split("\n").map((l) => l.trim()).filter((l) => l.length >= 16 && !l.startsWith("-----"));
  return [value, decoded, ...lines];
}

/** Every secret value the manifests carry (Secret data and literal password env), for redaction. */
export function secretValues(objects: LoadedObject[]): string[] {
  const values: string[] = [];
  for (const { object } of objects) {
    if (object.kind === "Secret") {
      for (const v of Object.values((object.stringData as Record<string, unknown>) ?? {})) values.push(String(v));
      for (const v of Object.values((object.data as Record<string, unknown>) ?? {})) values.push(...withDecoded(String(v), true));
    }
    const pod = (object.spec as { template?: { spec?: Record<string, unknown> } } | undefined)?.template?.spec ?? (object.kind === "Pod" ? (object.spec as Record<string, unknown>) : undefined);
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
 * Every credential a kubeconfig holds (each user entry's values: token,
 * client-key-data, password...), decoded too: never printed, whatever error
 * quotes them. Works on text that only partly parses.
 */
export function kubeconfigSecrets(text: string): string[] {
  const values: string[] = [];
  let parsed: unknown;
  try {
    parsed = parse(text, { uniqueKeys: false, maxAliasCount: 100 });
  } catch {
    parsed = undefined;
  }
  const users = (parsed as { users?: { user?: Record<string, unknown> }[] } | undefined)?.users;
  const collect = (value: unknown, key: string) => {
    if (typeof value === "string") values.push(...withDecoded(value, key.endsWith("-data")));
    else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) collect(v, k);
  };
  if (Array.isArray(users)) for (const u of users) collect(u?.user, "");
  // A kubeconfig that does not parse: any value on a line whose key names a credential.
  for (const match of text.matchAll(/^\s*-?\s*"?([A-Za-z_-]+)"?\s*:\s*"?([^"\n]+?)"?\s*$/gm)) {
    if (isSecretName(match[1]!) || /-data$|^key$|^cert/.test(match[1]!)) values.push(...withDecoded(match[2]!, match[1]!.endsWith("-data")));
  }
  return [...new Set(values.filter((v) => v.length >= 4))];
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
  const generators = (parsed as { secretGenerator?: { literals?: unknown[]; files?: unknown[]; envs?: unknown[]; env?: unknown } } | undefined)?.secretGenerator;
  for (const generator of Array.isArray(generators) ? generators : []) {
    for (const literal of Array.isArray(generator?.literals) ? generator.literals : []) {
      const text = String(literal);
      values.push(text, text.slice(text.indexOf("=") + 1));
    }
    const files = [...(Array.isArray(generator?.files) ? generator.files : []), ...(Array.isArray(generator?.envs) ? generator.envs : []), ...(generator?.env ? [generator.env] : [])];
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
