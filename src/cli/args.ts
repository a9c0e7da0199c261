/**
 * Command-line parsing helpers shared by every command: one clear line for
 * each mistake, never echoing a value that might be a password pasted in the
 * wrong place.
 */

/** node:util parseArgs' message, without the stray argument's text. */
export function describeArgsError(error: unknown): string {
  const message = String((error as Error)?.message ?? error);
  if (/^Unexpected argument /.test(message))
    return "this command takes no positional arguments (one was given; not shown, it might be a secret): options start with --";
  return message.split("\n")[0]!.replace(/\. To specify a positional argument.*$/, "");
}

/** A decimal number of seconds, > 0 and finite: `10`, `0.5`; not `Infinity`, `0x10`, `1e3`, ``. */
export function parseSeconds(raw: string, option: string): number {
  const value = /^(?:\d+(?:\.\d+)?|\.\d+)$/.test(raw) ? Number(raw) : NaN;
  if (!(value > 0) || !Number.isFinite(value) || value > 86_400)
    throw new Error(`${option} ${JSON.stringify(raw)} is not a number of seconds between 0 and 86400 (write it in decimal, e.g. 10 or 0.5)`);
  return value;
}

/** A positive whole number written in decimal: `3`; not `0`, `1.5`, `0x10`, `Infinity`. */
export function parseCount(raw: string, option: string): number {
  if (!/^[1-9]\d{0,8}$/.test(raw)) throw new Error(`${option} ${JSON.stringify(raw)} is not a positive whole number (in decimal)`);
  return Number(raw);
}
