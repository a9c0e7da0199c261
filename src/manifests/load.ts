import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { LineCounter, parseAllDocuments } from "yaml";

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
}

export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ManifestError";
  }
}

/**
 * Loads every *.yaml / *.yml file of a directory (not recursive), each possibly
 * holding several documents, keeping the file and line of each object.
 * Malformed YAML, a document that is not a Kubernetes object, an empty or a
 * missing directory each give one ManifestError naming the place.
 */
export function loadManifests(dir: string): LoadedObject[] {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new ManifestError(`${dir} is not a directory; name a directory of YAML manifests`);
    entries = readdirSync(dir);
  } catch (error) {
    if (error instanceof ManifestError) throw error;
    throw new ManifestError(`manifest directory ${dir} does not exist; name a directory of YAML manifests with --manifests`);
  }
  const files = entries.filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml").sort();
  if (files.length === 0) throw new ManifestError(`manifest directory ${dir} holds no .yaml or .yml file`);
  const loaded: LoadedObject[] = [];
  for (const name of files) {
    const path = join(dir, name);
    const shown = relative(process.cwd(), path) || path;
    const text = readFileSync(path, "utf8");
    const lineCounter = new LineCounter();
    const documents = parseAllDocuments(text, { lineCounter, prettyErrors: false });
    if (!Array.isArray(documents)) throw new ManifestError(`${shown}: not a YAML stream`);
    for (const document of documents) {
      const problem = document.errors[0];
      if (problem) {
        const at = lineCounter.linePos(problem.pos[0]);
        throw new ManifestError(`${shown}:${at.line}:${at.col}: malformed YAML: ${problem.message.split("\n")[0]}`);
      }
      const value = document.toJS() as unknown;
      if (value === null || value === undefined) continue; // an empty document between separators
      const line = lineCounter.linePos(document.contents?.range?.[0] ?? 0).line;
      const object = value as Partial<ManifestObject>;
      if (typeof value !== "object" || Array.isArray(value) || !object.apiVersion || !object.kind) {
        throw new ManifestError(`${shown}:${line}: not a Kubernetes object (apiVersion and kind are required)`);
      }
      if (!object.metadata || typeof object.metadata.name !== "string" || object.metadata.name === "") {
        throw new ManifestError(`${shown}:${line}: ${object.kind} has no metadata.name`);
      }
      loaded.push({ object: object as ManifestObject, file: shown, line });
    }
  }
  if (loaded.length === 0) throw new ManifestError(`manifest directory ${dir} holds YAML files but no Kubernetes object`);
  return loaded;
}
