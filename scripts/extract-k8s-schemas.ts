// Regenerates src/manifests/schemas/kubernetes-<version>.json from the OpenAPI v3
// documents that k8s.io/kubernetes ships in api/openapi-spec/v3, for offline
// validation. Descriptions are dropped (they are 80% of the size); everything
// else is kept as published. Usage (needs Go, for the module):
//   node scripts/extract-k8s-schemas.ts
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const versions = Object.fromEntries(
  readFileSync(join(root, "images/versions.env"), "utf8")
    .split("\n")
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => l.split("=", 2) as [string, string]),
);
const version = versions.KUBERNETES_VERSION!;
const moduleDir = execFileSync("go", ["list", "-m", "-f", "{{.Dir}}", `k8s.io/kubernetes@${version}`], {
  cwd: join(root, "images/node"),
  encoding: "utf8",
}).trim();
const specDir = join(moduleDir, "api/openapi-spec/v3");

type Schema = Record<string, unknown>;
const strip = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(strip);
  if (value && typeof value === "object") {
    const out: Schema = {};
    for (const [k, v] of Object.entries(value)) if (k !== "description") out[k] = strip(v);
    return out;
  }
  return value;
};

const hash = createHash("sha256");
const schemas: Record<string, unknown> = {};
const kinds: Record<string, string> = {};
for (const file of readdirSync(specDir)
  .filter((f) => f.endsWith(".json"))
  .sort()) {
  const text = readFileSync(join(specDir, file), "utf8");
  hash.update(file).update(text);
  const components = (JSON.parse(text) as { components?: { schemas?: Record<string, Schema> } }).components?.schemas ?? {};
  for (const [name, schema] of Object.entries(components)) {
    schemas[name] = strip(schema);
    for (const gvk of (schema["x-kubernetes-group-version-kind"] as { group: string; version: string; kind: string }[]) ?? []) {
      const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
      // A kind appears in many documents (as a reference); its own group's document defines it.
      if (!name.endsWith(`.${gvk.kind}`) || gvk.kind === "Status" || gvk.kind === "WatchEvent" || gvk.kind === "DeleteOptions") continue;
      kinds[`${apiVersion}/${gvk.kind}`] = name;
    }
  }
}
const out = {
  provenance: {
    source: `k8s.io/kubernetes@${version} api/openapi-spec/v3/*.json (Go module proxy)`,
    sha256OfInputs: hash.digest("hex"),
    transformation: "components.schemas merged; description fields removed",
    generator: "scripts/extract-k8s-schemas.ts",
  },
  kinds,
  schemas,
};
const target = join(root, `src/manifests/schemas/kubernetes-${version}.json`);
writeFileSync(target, `${JSON.stringify(out)}\n`);
console.log(`${target}: ${Object.keys(kinds).length} kinds, ${Object.keys(schemas).length} schemas`);
