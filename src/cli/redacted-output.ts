import { redact } from "../redact.ts";

/**
 * The last line of defence of every command: whatever reaches stdout or
 * stderr (our messages, vitest's, a library's stack, kubectl's or kustomize's
 * output) passes through redact() with every secret value known so far
 * (the manifests' Secrets and password variables, the kubeconfig's
 * credentials, a kustomization's generator literals).
 */
const secrets = new Set<string>();
let installed = false;

export function addSecrets(values: Iterable<string>): void {
  for (const value of values) if (value.length >= 4) secrets.add(value);
  install();
}

export function knownSecrets(): string[] {
  return [...secrets];
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (secrets.size === 0) return write(chunk, ...rest);
      const text = typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) || chunk instanceof Uint8Array ? Buffer.from(chunk).toString("utf8") : undefined;
      if (text === undefined) return write(chunk, ...rest);
      const encodingGiven = typeof rest[0] === "string";
      return write(redact(text, [...secrets]), ...(encodingGiven ? ["utf8", ...rest.slice(1)] : rest));
    }) as typeof stream.write;
  }
}
