import { LineCounter, parse, parseDocument } from "yaml";
import { readTextFile } from "../files.ts";
import { isSecretName, withDecoded } from "../redact.ts";
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
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw new KubeconfigError(`kubeconfig ${path} is not a kubeconfig (a YAML mapping with clusters, users and contexts)`);
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
