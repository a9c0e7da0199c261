import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import type { LoadedObject } from "./load.ts";
import { projectRoot } from "../paths.ts";

/** The Kubernetes version whose API schemas the offline validation uses (see scripts/extract-k8s-schemas.ts). */
export const schemaVersion = "v1.34.4";

interface SchemaFile {
  provenance: Record<string, string>;
  kinds: Record<string, string>;
  schemas: Record<string, Record<string, unknown>>;
}

export interface SchemaProblem {
  /** Field path, e.g. spec.template.spec.containers[0].volumeMounts[0].mountPth */
  field: string;
  message: string;
  line: number;
}

/**
 * Kubernetes' published schemas leave objects open; the API server rejects
 * unknown fields under strict field validation, and so does this validator:
 * every object schema with declared properties is closed, unless it preserves
 * unknown fields by design.
 */
function closeObjects(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(closeObjects);
  if (!value || typeof value !== "object") return value;
  const schema: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) schema[k] = closeObjects(v);
  if (schema.properties && schema.additionalProperties === undefined && !schema["x-kubernetes-preserve-unknown-fields"]) {
    schema.additionalProperties = false;
  }
  return schema;
}

let cached: { file: SchemaFile; ajv: Ajv; validators: Map<string, ValidateFunction> } | undefined;

function load() {
  if (cached) return cached;
  const file = schemaFileContent();
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, validateSchema: false, code: { source: true } });
  ajv.addSchema({ $id: "k8s", components: { schemas: closeObjects(file.schemas) } });
  cached = { file, ajv, validators: new Map() };
  return cached;
}

const schemaFile = `${projectRoot}/src/manifests/schemas/kubernetes-${schemaVersion}.json`;
const require = createRequire(import.meta.url);
/**
 * Compiled validators are kept as code beside the dependencies
 * (node_modules/.cache/storage-conformance, where ajv resolves): compiling a
 * Deployment's schema takes most of a static check's time, loading its code
 * a few milliseconds. Keyed by the schema file's provenance hash and a
 * version of this transformation, so a new schema or closing rule never
 * meets an old validator.
 */
const compiledVersion = 1;
const validatorCacheDir = (): string => join(dirname(require.resolve("ajv/package.json")), "..", ".cache", "storage-conformance");
let kindsFile: { kinds: Record<string, string>; provenance: Record<string, string> } | undefined;

let parsedSchemaFile: SchemaFile | undefined;
const schemaFileContent = (): SchemaFile => (parsedSchemaFile ??= JSON.parse(readFileSync(schemaFile, "utf8")) as SchemaFile);

/** The apiVersion/kind index and provenance (ajv is set up only when a validator must be compiled). */
function kindsIndex(): { kinds: Record<string, string>; provenance: Record<string, string> } {
  kindsFile ??= schemaFileContent();
  return kindsFile;
}

function validatorFor(name: string): ValidateFunction {
  const memo = cached?.validators.get(name) ?? compiledValidators.get(name);
  if (memo) return memo;
  const { provenance } = kindsIndex();
  const file = join(validatorCacheDir(), `k8s-${schemaVersion}-${(provenance.sha256OfInputs ?? "").slice(0, 12)}-v${compiledVersion}-${name}.cjs`);
  if (existsSync(file)) {
    try {
      const validate = require(file) as ValidateFunction;
      compiledValidators.set(name, validate);
      return validate;
    } catch {
      // A file cut short or from another ajv: compiled again below.
    }
  }
  const { ajv, validators } = load();
  const validate = ajv.getSchema(`k8s#/components/schemas/${name}`)!;
  validators.set(name, validate);
  try {
    mkdirSync(dirname(file), { recursive: true });
    const standaloneCode = (require("ajv/dist/standalone") as { default: (ajv: Ajv, validate: ValidateFunction) => string }).default;
    writeFileSync(`${file}.tmp`, standaloneCode(ajv, validate));
    renameSync(`${file}.tmp`, file);
  } catch {
    // No writable cache: the next run compiles again.
  }
  return validate;
}
const compiledValidators = new Map<string, ValidateFunction>();

function fieldPath(segments: readonly (string | number)[]): string {
  return segments.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? s : `.${s}`)).join("") || "(object)";
}

function segmentsOf(instancePath: string): (string | number)[] {
  return instancePath
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** Validates one object against the schema of its apiVersion and kind. */
export function validateSchema(loaded: LoadedObject): SchemaProblem[] {
  const { object } = loaded;
  const file = kindsIndex();
  const key = `${object.apiVersion}/${object.kind}`;
  const name = file.kinds[key];
  if (!name) {
    const sameKind = Object.keys(file.kinds).filter((k) => k.endsWith(`/${object.kind}`));
    const hint = sameKind.length ? ` (Kubernetes ${schemaVersion} has ${sameKind.map((k) => k.replace(/\/[^/]+$/, "")).join(", ")} for ${object.kind})` : "";
    return [{ field: "kind", message: `unknown kind ${object.kind} in apiVersion ${object.apiVersion}${hint}`, line: loaded.line }];
  }
  const validate = validatorFor(name);
  if (validate(object)) return [];
  return describeErrors(validate.errors ?? [], loaded);
}

function describeErrors(errors: ErrorObject[], loaded: LoadedObject): SchemaProblem[] {
  const problems = new Map<string, SchemaProblem>();
  // oneOf failures (Quantity, IntOrString) explain themselves once, not per branch.
  const oneOfPaths = new Set(errors.filter((e) => e.keyword === "oneOf").map((e) => e.instancePath));
  for (const e of errors) {
    const segments = segmentsOf(e.instancePath);
    let field = fieldPath(segments);
    let message: string;
    let lineSegments = segments;
    if (e.keyword === "additionalProperties") {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      lineSegments = [...segments, extra];
      field = fieldPath(lineSegments);
      message = `unknown field ${field}`;
    } else if (oneOfPaths.has(e.instancePath) && e.keyword !== "oneOf") {
      continue;
    } else if (e.keyword === "oneOf") {
      message = `${field} has the wrong type: expected a string or a number (a quantity such as 1Gi, or a port name or number)`;
    } else if (e.keyword === "type") {
      message = `${field} has the wrong type: expected ${(e.params as { type: string }).type}, found ${typeName(valueAt(loaded.object, segments))}`;
    } else if (e.keyword === "required") {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      field = fieldPath([...segments, missing]);
      message = `${field} is required`;
    } else if (e.keyword === "enum") {
      message = `${field} must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues).join(", ")}`;
    } else {
      message = `${field} ${e.message ?? "is invalid"}`;
    }
    problems.set(`${field}:${message}`, { field, message, line: loaded.lineOf(lineSegments) });
  }
  return [...problems.values()];
}

function valueAt(object: unknown, segments: (string | number)[]): unknown {
  return segments.reduce<unknown>((v, s) => (v as Record<string | number, unknown> | undefined)?.[s], object);
}

function typeName(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (value === null) return "null";
  if (Number.isInteger(value)) return "integer";
  return typeof value;
}
