/**
 * Recognising secrets and removing them from text. Pure and at the src root
 * because every layer needs it: the manifests' rules and secret values, the
 * kubeconfig reader's credentials, kustomize's errors, the CLI's and the
 * reporter's output.
 */

/**
 * Names of variables and keys that hold credentials. One pattern for the
 * plaintext-password rule (credentials-from-secret) and for redaction, so
 * what the rule flags is also what never gets printed.
 */
export const secretNamePattern = /PASSWORD|PASSWD|PASSPHRASE|PWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY/i;

export const isSecretName = (name: string): boolean => secretNamePattern.test(name);

/** The forms a secret value can take in output: itself, and decoded when it is base64 data. */
export function withDecoded(value: string, base64: boolean): string[] {
  if (!base64) return [value];
  const decoded = Buffer.from(value, "base64").toString("utf8");
  // A PEM key decoded from *-data fields: its body lines are secret one by one too.
  const lines = decoded
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length >= 16 && !l.startsWith("-----"));
  return [value, decoded, ...lines];
}

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
