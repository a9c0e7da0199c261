import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
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
 * Loads every *.yaml / *.yml file of a directory (not recursive), each possibly
 * holding several documents, keeping the file and line of each object. A
 * directory with a kustomization.yaml is built with kustomize instead, and
 * its objects carry lines of the built stream.
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
  const kustomization = ["kustomization.yaml", "kustomization.yml", "Kustomization"].find((f) => existsSync(join(dir, f)));
  const sources: { shown: string; text: () => string }[] = kustomization
    ? [{ shown: `${relative(process.cwd(), join(dir, kustomization)) || kustomization} (kustomize build)`, text: () => kustomizeBuild(dir) }]
    : entries
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((name) => {
          const path = join(dir, name);
          return { shown: relative(process.cwd(), path) || path, text: () => readFileSync(path, "utf8") };
        });
  if (sources.length === 0) throw new ManifestError(`manifest directory ${dir} holds no .yaml or .yml file`);
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
      const lineOf = (path: readonly (string | number)[]): number => {
        for (let n = path.length; n >= 0; n--) {
          const node = document.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
          if (node?.range) return lineCounter.linePos(node.range[0]).line;
        }
        return line;
      };
      loaded.push({ object: object as ManifestObject, file: shown, line, lineOf });
    }
  }
  if (loaded.length === 0) throw new ManifestError(`manifest directory ${dir} holds YAML files but no Kubernetes object`);
  return loaded;
}

function kustomizeBuild(dir: string): string {
  const script = new URL("../../scripts/ensure-kustomize.sh", import.meta.url).pathname;
  let command: string[];
  try {
    command = execFileSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim().split(" ");
  } catch {
    throw new ManifestError(`${dir} has a kustomization, and no kustomize could be found or built (see above)`);
  }
  try {
    return execFileSync(command[0]!, [...command.slice(1), dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? "").trim().split("\n")[0];
    throw new ManifestError(`kustomize build ${dir} failed: ${stderr}`);
  }
}
