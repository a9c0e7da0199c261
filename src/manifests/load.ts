import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { type Document, LineCounter, parseAllDocuments, visit } from "yaml";
import { describeFsError, formatBytes, readTextFile, textFileProblem } from "../files.ts";
import { projectRoot } from "../paths.ts";
import { redact } from "../redact.ts";
import { yamlErrorMeaning } from "../yaml-errors.ts";
import { kustomizationSecrets, secretValues } from "./secrets.ts";

/** A Kubernetes object as written in a manifest, with where it was written. */
export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

export interface LoadedObject {
  object: ManifestObject;
  file: string;
  line: number;
  /** The line of a field (e.g. ["spec", "replicas"]); the nearest existing parent's line when absent. */
  lineOf(path: readonly (string | number)[]): number;
}

export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ManifestError";
  }
}

/**
 * Bounds on what is loaded, so that a wrong --manifests (a whole repository,
 * a generated dump) fails with one line instead of taking a gigabyte of
 * memory: a design's manifests are a few kilobytes and a handful of objects.
 */
export const manifestLimits = { bytes: 4 * 2 ** 20, objects: 2000 } as const;

const manifestFile = /\.(ya?ml|json)$/;

/**
 * Loads every *.yaml, *.yml and *.json file of a directory (not recursive;
 * kubectl reads the same), each possibly holding several documents, keeping
 * the file and line of each object; a List (kind: List, as kubectl applies
 * it) gives its items. A directory with a kustomization.yaml is built with
 * kustomize instead, and its objects carry lines of the built stream.
 * Malformed YAML, a document that is not a Kubernetes object, a file that
 * cannot be read, an empty or a missing directory, or more than
 * manifestLimits each give one ManifestError naming the place and the cause;
 * no error quotes the text (it may hold a secret).
 */
export function loadManifests(dir: string): LoadedObject[] {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new ManifestError(`${dir} is not a directory; name a directory of YAML manifests`);
    entries = readdirSync(dir);
  } catch (error) {
    if (error instanceof ManifestError) throw error;
    throw new ManifestError(`manifest directory ${dir} ${describeFsError(error, dir)}; name a directory of YAML manifests with --manifests`);
  }
  const shownPath = (path: string) => relative(process.cwd(), path) || path;
  const kustomization = ["kustomization.yaml", "kustomization.yml", "Kustomization"].find((f) => existsSync(join(dir, f)));
  let sources: { shown: string; text: () => string }[];
  if (kustomization) {
    sources = [{ shown: `${shownPath(join(dir, kustomization))} (kustomize build)`, text: () => kustomizeBuild(dir, kustomization) }];
  } else {
    const files = entries.filter((f) => manifestFile.test(f)).sort();
    let total = 0;
    for (const name of files) {
      const path = join(dir, name);
      // Checked before anything is read: a directory named *.yaml, a link to nothing or to itself, a file too large.
      const problem = textFileProblem(path, manifestLimits.bytes);
      if (problem) throw new ManifestError(`${shownPath(path)} ${problem}${/limit/.test(problem) ? limitHint : ""}`);
      total += statSync(path).size;
    }
    if (total > manifestLimits.bytes) {
      throw new ManifestError(
        `manifest directory ${dir} holds ${formatBytes(total)} of manifests, over the limit of ${formatBytes(manifestLimits.bytes)}${limitHint}`,
      );
    }
    sources = files.map((name) => {
      const path = join(dir, name);
      return { shown: shownPath(path), text: () => readTextFile(path, manifestLimits.bytes, (clause) => new ManifestError(`${shownPath(path)} ${clause}`)) };
    });
  }
  if (sources.length === 0) throw new ManifestError(`manifest directory ${dir} holds no .yaml, .yml or .json file`);
  const loaded: LoadedObject[] = [];
  for (const source of sources) {
    const shown = source.shown;
    const text = source.text();
    const lineCounter = new LineCounter();
    const documents = parseAllDocuments(text, { lineCounter, prettyErrors: false });
    if (!Array.isArray(documents)) throw new ManifestError(`${shown}: not a YAML stream`);
    for (const document of documents) {
      const problem = document.errors[0];
      if (problem) {
        const at = lineCounter.linePos(problem.pos[0]);
        throw new ManifestError(`${shown}:${at.line}:${at.col}: malformed YAML: ${yamlErrorMeaning(problem)}`);
      }
      const line = lineCounter.linePos(document.contents?.range?.[0] ?? 0).line;
      let value: unknown;
      try {
        value = document.toJS({ maxAliasCount: 100 }) as unknown;
      } catch {
        throw new ManifestError(`${shown}:${unresolvedAliasLine(document, lineCounter) ?? line}: malformed YAML: ${yamlErrorMeaning({ code: "BAD_ALIAS" })}`);
      }
      if (value === null || value === undefined) continue; // an empty document between separators
      const lineIn =
        (prefix: readonly (string | number)[]) =>
        (path: readonly (string | number)[]): number => {
          const full = [...prefix, ...path];
          for (let n = full.length; n >= 0; n--) {
            const node = document.getIn(full.slice(0, n), true) as { range?: [number, number, number] } | undefined;
            if (node?.range) return lineCounter.linePos(node.range[0]).line;
          }
          return line;
        };
      const list = value as { kind?: unknown; items?: unknown };
      const isList = typeof list.kind === "string" && list.kind.endsWith("List") && Array.isArray(list.items);
      const members: { value: unknown; prefix: (string | number)[] }[] = isList
        ? (list.items as unknown[]).map((item, i) => ({ value: item, prefix: ["items", i] }))
        : [{ value, prefix: [] }];
      for (const member of members) {
        const lineOf = lineIn(member.prefix);
        const at = lineOf([]);
        const object = member.value as Partial<ManifestObject>;
        if (typeof member.value !== "object" || member.value === null || Array.isArray(member.value) || !object.apiVersion || !object.kind) {
          throw new ManifestError(`${shown}:${at}: not a Kubernetes object (apiVersion and kind are required)`);
        }
        if (!object.metadata || typeof object.metadata.name !== "string" || object.metadata.name === "") {
          throw new ManifestError(`${shown}:${at}: ${object.kind} has no metadata.name`);
        }
        loaded.push({ object: object as ManifestObject, file: shown, line: at, lineOf });
        if (loaded.length > manifestLimits.objects) {
          throw new ManifestError(`manifest directory ${dir} holds more than ${manifestLimits.objects} objects (the limit)${limitHint}`);
        }
      }
    }
  }
  if (loaded.length === 0) throw new ManifestError(`manifest directory ${dir} holds manifest files but no Kubernetes object`);
  return loaded;
}

/** The line of the first alias (`*name`) whose anchor does not exist: a value that begins with * and was not quoted. */
function unresolvedAliasLine(document: Document, lineCounter: LineCounter): number | undefined {
  let found: number | undefined;
  visit(document, {
    Alias(_, node) {
      if (node.resolve(document) === undefined && node.range) {
        found = lineCounter.linePos(node.range[0]).line;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

const limitHint = `; a storage design is a few objects: point --manifests at the directory that holds only them (limits: ${formatBytes(manifestLimits.bytes)}, ${manifestLimits.objects} objects)`;

/** kustomize's own failure message without klog's prefix ("E1125 ... run.go:72] \"command failed\" err="). */
export function kustomizeReason(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => l.replace(/^[EWIF]\d{4} [\d:.]+\s+\d+ \S+\] "command failed" err=/, "").replace(/^Error: /, ""))
    .map((l) => (/^".*"$/.test(l) ? l.slice(1, -1).replace(/\\"/g, '"') : l));
  return lines.join("\n  ") || "(kustomize printed no reason)";
}

/** Secret values kustomize could quote in an error: generator literals and files, Secrets of the directory's YAML. */
function kustomizeSecrets(dir: string, kustomization: string): string[] {
  const values = kustomizationSecrets(dir, kustomization);
  for (const name of readdirSync(dir).filter((f) => manifestFile.test(f) && !f.startsWith("kustomization"))) {
    try {
      const documents = parseAllDocuments(readFileSync(join(dir, name), "utf8"));
      const objects = (Array.isArray(documents) ? documents : [])
        .map((d) => d.toJS({ maxAliasCount: 100 }) as ManifestObject)
        .filter((o) => o && typeof o === "object");
      values.push(...secretValues(objects.map((object) => ({ object, file: name, line: 0, lineOf: () => 0 }))));
    } catch {
      // unreadable or malformed: kustomize names it
    }
  }
  return values;
}

function kustomizeBuild(dir: string, kustomization: string): string {
  const script = `${projectRoot}/scripts/ensure-kustomize.sh`;
  let command: string[];
  try {
    command = execFileSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
      .trim()
      .split(" ");
  } catch {
    throw new ManifestError(`${dir} has a kustomization, and no kustomize could be found or built (see above)`);
  }
  try {
    return execFileSync(command[0]!, [...command.slice(1), dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: manifestLimits.bytes });
  } catch (error) {
    if ((error as { code?: string }).code === "ENOBUFS") {
      throw new ManifestError(`kustomize build ${dir} gives more than ${formatBytes(manifestLimits.bytes)} of manifests, over the limit${limitHint}`);
    }
    // The whole reason, with every value a Secret could be generated from taken out.
    const reason = redact(kustomizeReason(String((error as { stderr?: string }).stderr ?? "")), kustomizeSecrets(dir, kustomization));
    throw new ManifestError(`kustomize build ${dir} failed: ${reason}`);
  }
}
