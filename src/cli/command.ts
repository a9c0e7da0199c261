/**
 * What every subcommand of `storage-conformance` shares: its shape, the exit
 * statuses, the output formats, and how a failure is said (one line on
 * stderr, `error: WHAT: CAUSE; FIX`, and with JSON output a JSON object on
 * stdout too, so a machine reading stdout never finds it empty).
 */

export type OutputFormat = "text" | "json" | "sarif";

/** The exit statuses, as every help states them. */
export const exitStatus = { passed: 0, failed: 1, badInput: 2 } as const;

export const exitStatusHelp = `Exit status: 0 everything checked passed; 1 a check failed (or the command's
own work did: a dump, a restore); 2 bad input or environment (an option, a
file, the cluster's address): one line on stderr says what and how to fix it.`;

export interface Command {
  name: string;
  /** One line for the list of subcommands. */
  summary: string;
  /** The subcommand's whole help; ends with the exit statuses. */
  usage: string;
  /** Runs with the subcommand's own arguments; returns the exit status. */
  run(argv: string[], io: CommandIo): Promise<number>;
}

/** Where a command's output goes, and the output format its options chose (for the JSON error object). */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
  /** Set by the command once its options are parsed: a failure after that point is also printed in this format. */
  format: OutputFormat;
}

/**
 * Bad input or environment: exit 2, nothing was judged. `fix` says what to
 * do, when the message itself does not.
 */
export class UsageError extends Error {
  readonly fix?: string;
  constructor(message: string, fix?: string) {
    super(message);
    this.name = "UsageError";
    if (fix !== undefined) this.fix = fix;
  }
}

/** The one line a failure prints: `error: MESSAGE[; FIX]`, never a stack, never a second line. */
export function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const fix = error instanceof UsageError && error.fix ? `; ${error.fix}` : "";
  return `error: ${(message.split("\n")[0] ?? "").trim()}${fix}`;
}

/** The JSON object a failure prints on stdout under --output-format json. */
export function errorObject(error: unknown, exitCode: number): { error: { message: string; exitCode: number } } {
  return { error: { message: errorLine(error).replace(/^error: /, ""), exitCode } };
}

/** --output-format's value, among those `allowed` for the command. */
export function parseOutputFormat(raw: string | undefined, allowed: readonly OutputFormat[]): OutputFormat {
  if (raw === undefined) return "text";
  const format = allowed.find((f) => f === raw);
  if (!format) throw new UsageError(`--output-format ${JSON.stringify(raw)} is not one of ${allowed.join(", ")}`);
  return format;
}

/** The help text of --output-format for a command that offers `allowed`. */
export function outputFormatHelp(allowed: readonly OutputFormat[]): string {
  return `  --output-format ${allowed.join("|")}\n                     what stdout holds (default text)${allowed.includes("json") ? '; with json, a failure prints {"error": ...} too' : ""}`;
}
