import { loadManifests, type LoadedObject } from "./load.ts";
import { checkRules, type Finding, type RuleOptions } from "./rules.ts";
import { schemaVersion, validateSchema } from "./schema.ts";
import { defaultDataDir } from "./workload.ts";

/** The design's own: data at /var/lib/mysql, claims of at least 1Gi (the run passes SC_DATA_DIR and SC_MIN_STORAGE from its settings). */
export const defaultRuleOptions: RuleOptions = {
  dataDir: defaultDataDir,
  minStorage: "1Gi",
};

/**
 * Everything that can be known about the manifests without a cluster: schema
 * problems (Kubernetes' own API schema of the pinned version) and the storage
 * rules. Throws ManifestError when the directory cannot be loaded at all.
 */
export function staticCheck(dir: string, options: RuleOptions = defaultRuleOptions): Finding[] {
  return checkObjects(loadManifests(dir), options);
}

/** staticCheck on objects already loaded. */
export function checkObjects(objects: LoadedObject[], options: RuleOptions = defaultRuleOptions): Finding[] {
  const schemaFindings: Finding[] = objects.flatMap((o) =>
    validateSchema(o).map((p) => ({
      rule: "schema",
      severity: "error" as const,
      file: o.file,
      line: p.line,
      message: `${o.object.kind}/${o.object.metadata.name}: ${p.message}`,
      fix: `write the object as Kubernetes ${schemaVersion}'s API defines it`,
    })),
  );
  const order = { error: 0, warning: 1, info: 2 };
  return [...schemaFindings, ...checkRules(objects, options)].sort(
    (a, b) => order[a.severity] - order[b.severity] || a.file.localeCompare(b.file) || a.line - b.line,
  );
}

export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line} ${f.rule} ${f.severity} ${f.message}`;
}
