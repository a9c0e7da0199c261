/**
 * Command-line parsing shared by every subcommand: each declares its options
 * once (node:util's parseArgs config, so the values are typed from it), and
 * every mistake is one line that never echoes a value which might be a
 * password pasted in the wrong place.
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { UsageError } from "./command.ts";

/** Spellings of earlier versions, each refused with the one that replaced it. */
const renamed: Record<string, string> = {
  "--json": "--output-format json",
  "--format": "--output-format text|json|sarif",
  "--out": "--reports DIR",
};

/** Options parsed with `options`; a positional argument is refused. */
export function parseOptions<const O extends ParseArgsOptionsConfig>(argv: string[], options: O, command: string) {
  rejectRenamed(argv, options);
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values;
  } catch (error) {
    throw new UsageError(describeArgsError(error), `see storage-conformance ${command} --help`);
  }
}

/** Options and positional arguments (folders to read) parsed with `options`. */
export function parseOptionsAndPositionals<const O extends ParseArgsOptionsConfig>(argv: string[], options: O, command: string) {
  rejectRenamed(argv, options);
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(describeArgsError(error), `see storage-conformance ${command} --help`);
  }
}

function rejectRenamed(argv: string[], options: ParseArgsOptionsConfig): void {
  for (const arg of argv) {
    if (arg === "--") return;
    const name = arg.split("=")[0]!;
    const now = renamed[name];
    if (now !== undefined && !(name.slice(2) in options)) throw new UsageError(`${name} is now spelled ${now}`);
  }
}

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
    throw new UsageError(`${option} ${JSON.stringify(raw)} is not a number of seconds between 0 and 86400 (write it in decimal, e.g. 10 or 0.5)`);
  return value;
}

/** A positive whole number written in decimal: `3`; not `0`, `1.5`, `0x10`, `Infinity`. */
export function parseCount(raw: string, option: string): number {
  if (!/^[1-9]\d{0,8}$/.test(raw)) throw new UsageError(`${option} ${JSON.stringify(raw)} is not a positive whole number (in decimal)`);
  return Number(raw);
}
