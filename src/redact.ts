/**
 * Removing secrets from text. Pure and at the src root because every layer
 * scrubs something: the manifest loader kustomize's errors, the kubeconfig
 * reader the client's complaints, the CLI and the reporter all output.
 */

/**
 * Removes every occurrence of the given secret values from a text (error
 * messages, logs), as a last line of defence: checks never put secrets in
 * messages, but a server log might echo one.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join("[redacted]");
  }
  return out;
}
