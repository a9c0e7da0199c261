import { LineCounter, parseDocument } from "yaml";
import { readTextFile } from "../files.ts";
import { kubeconfigSecrets } from "../manifests/secrets.ts";
import { yamlErrorMeaning } from "../yaml-errors.ts";
import { connect, type Kube } from "./client.ts";

/** A kubeconfig is a few KB; anything past this is not one. */
const maxKubeconfigBytes = 1024 * 1024;

export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KubeconfigError";
  }
}

export interface LoadedKubeconfig {
  path: string;
  text: string;
  /** Its credentials, in every form an error could quote them: for redaction. */
  secrets: string[];
}

/**
 * Reads a kubeconfig so that no byte of it reaches a message: a file that
 * cannot be read, is binary, or is not YAML is named with the cause (and the
 * line), never with the parser's snippet of the text around the fault.
 */
export function readKubeconfig(path: string): LoadedKubeconfig {
  const text = readTextFile(path, maxKubeconfigBytes, (clause) => new KubeconfigError(`kubeconfig ${path} ${clause}`));
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const problem = document.errors[0];
  if (problem) {
    throw new KubeconfigError(`kubeconfig ${path} is not valid YAML at line ${lineCounter.linePos(problem.pos[0]).line}: ${yamlErrorMeaning(problem)}`);
  }
  const value: unknown = document.toJS({ maxAliasCount: 100 });
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new KubeconfigError(`kubeconfig ${path} is not a kubeconfig (a YAML mapping with clusters, users and contexts)`);
  return { path, text, secrets: kubeconfigSecrets(text) };
}

/**
 * Connects with a kubeconfig read by readKubeconfig; the client's own
 * complaints about its structure are kept to their first line, with the
 * credentials taken out.
 */
export function connectKubeconfig(loaded: LoadedKubeconfig): Kube {
  try {
    return connect(loaded.text);
  } catch (error) {
    let reason = String((error as Error).message ?? error).split("\n")[0]!;
    for (const secret of loaded.secrets) reason = reason.split(secret).join("[redacted]");
    throw new KubeconfigError(`kubeconfig ${loaded.path} does not load: ${reason}`);
  }
}
