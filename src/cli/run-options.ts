/**
 * The options of `storage-conformance run` (and of `static`), parsed once
 * and checked before anything starts: every mistake here is one line and
 * exit 2, never a failed check minutes into a run.
 */
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { closestValueName, performanceValueNames } from "../conformance/performance-values.ts";
import { validClassName } from "../manifests/storage-class.ts";
import { parseEngineOption, type Engine } from "../mysql/engines.ts";
import { projectRoot } from "../paths.ts";
import { parseExpectation, type Expectation } from "../run/expectations.ts";
import type { RunSettings } from "../run/settings.ts";
import { parseOptions, parseOptionsAndPositionals } from "./args.ts";
import { parseOutputFormat, UsageError, type OutputFormat } from "./command.ts";

export const runOptionsConfig = {
  manifests: { type: "string" },
  kubeconfig: { type: "string" },
  reports: { type: "string" },
  "static-only": { type: "boolean" },
  "output-format": { type: "string" },
  engine: { type: "string" },
  suite: { type: "string" },
  "storage-class": { type: "string" },
  cleanup: { type: "boolean" },
  disruptive: { type: "boolean" },
  expect: { type: "string", multiple: true },
  help: { type: "boolean", short: "h" },
} as const;

export const staticOptionsConfig = {
  manifests: { type: "string" },
  kubeconfig: { type: "string" },
  reports: { type: "string" },
  "output-format": { type: "string" },
  "storage-class": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** What the static checks need. */
export interface StaticOptions {
  manifestsDir: string;
  storageClass?: string;
  format: OutputFormat;
  /** Only when --reports was given: static checks write no report unless asked. */
  reportsDir?: string;
}

/** What a live run needs, on top of the settings from the environment. */
export interface RunOptions {
  manifestsDir: string;
  storageClass?: string;
  reportsDir: string;
  kubeconfig?: string;
  engines: Engine[];
  suites: string[];
  disruptive: boolean;
  expectations: Expectation[];
}

export type ParsedRun =
  | { kind: "help" }
  | { kind: "static"; options: StaticOptions }
  | { kind: "cleanup"; kubeconfig?: string }
  | { kind: "run"; options: RunOptions };

export const defaultReportsDir = "storage-conformance-reports";

function storageClassOption(raw: string | undefined): { storageClass?: string } {
  if (raw === undefined) return {};
  if (!validClassName(raw)) throw new UsageError(`--storage-class ${JSON.stringify(raw)} is not a StorageClass name (lowercase letters, digits, - and .)`);
  return { storageClass: raw };
}

/** static's options: the manifests as `DIR` or `--manifests DIR` (default ./manifests). */
export function parseStaticOptions(argv: string[]): StaticOptions | "help" {
  const { values, positionals } = parseOptionsAndPositionals(argv, staticOptionsConfig, "static");
  if (values.help) return "help";
  if (positionals.length > 1) throw new UsageError(`static checks one folder of manifests; ${positionals.length} were named`, "name one DIR");
  if (positionals.length === 1 && values.manifests !== undefined) throw new UsageError("the manifests are named twice (DIR and --manifests)", "name them once");
  return staticOptionsOf({ ...values, manifests: positionals[0] ?? values.manifests });
}

function staticOptionsOf(values: {
  manifests?: string | undefined;
  kubeconfig?: string;
  reports?: string;
  "output-format"?: string;
  "storage-class"?: string;
}): StaticOptions {
  const format = parseOutputFormat(values["output-format"], ["text", "json", "sarif"]);
  if (values.kubeconfig !== undefined)
    throw new UsageError(
      "--kubeconfig names a cluster, and the static checks read none (schema and storage rules only)",
      "drop --kubeconfig, or run the live checks on that cluster with: storage-conformance run --kubeconfig FILE",
    );
  return {
    manifestsDir: resolve(values.manifests ?? "manifests"),
    ...storageClassOption(values["storage-class"]),
    format,
    ...(values.reports !== undefined ? { reportsDir: resolve(values.reports) } : {}),
  };
}

/** run's options, over the settings the environment gave (an option wins over its variable). */
export function parseRunOptions(argv: string[], settings: RunSettings): ParsedRun {
  const values = parseOptions(argv, runOptionsConfig, "run");
  if (values.help) return { kind: "help" };
  if (values["static-only"]) {
    const liveOnly = (["engine", "suite", "cleanup", "disruptive", "expect"] as const).filter((o) => values[o] !== undefined);
    if (liveOnly.length)
      throw new UsageError(`--static-only runs no suite, so ${liveOnly.map((o) => `--${o}`).join(", ")} would be ignored`, "drop them, or drop --static-only");
    return { kind: "static", options: staticOptionsOf(values) };
  }
  if (values["output-format"] !== undefined && values["output-format"] !== "text")
    throw new UsageError(
      `--output-format ${values["output-format"]} applies to the static checks; a live run's machine-readable output is results.json (and junit.xml) under --reports`,
      "add --static-only, or drop --output-format",
    );
  if (values.cleanup)
    return { kind: "cleanup", ...((values.kubeconfig ?? settings.kubeconfig) ? { kubeconfig: resolve(values.kubeconfig ?? settings.kubeconfig!) } : {}) };
  const suites = namedSuites(values.suite);
  const expectations = values.expect?.length ? values.expect.map((text) => asUsage(() => parseExpectation(text))) : settings.expectations;
  checkExpectations(expectations, suites);
  const kubeconfig = values.kubeconfig ?? settings.kubeconfig;
  return {
    kind: "run",
    options: {
      manifestsDir: values.manifests === undefined ? settings.manifestsDir : resolve(values.manifests),
      ...storageClassOption(values["storage-class"]),
      reportsDir: resolve(values.reports ?? settings.reportsDir ?? defaultReportsDir),
      ...(kubeconfig !== undefined ? { kubeconfig: resolve(kubeconfig) } : {}),
      engines: asUsage(() => parseEngineOption(values.engine)),
      suites,
      disruptive: Boolean(values.disruptive),
      expectations,
    },
  };
}

/**
 * Each --expect names a value the chosen suites can measure: only the
 * performance suite's values are judged (by its last check), so the suite
 * must run and the name must be one it records.
 */
export function checkExpectations(expectations: Expectation[], suites: string[]): void {
  if (expectations.length === 0) return;
  if (suites.length > 0 && !suites.includes("performance"))
    throw new UsageError(
      `--expect judges the performance suite's values, and --suite ${suites.join(",")} does not run it`,
      "add performance to --suite, or drop --expect",
    );
  for (const { name, text } of expectations) {
    if (performanceValueNames.includes(name)) continue;
    const near = closestValueName(name);
    throw new UsageError(
      `--expect '${text}': the performance suite measures no value named ${name}`,
      `${near ? `did you mean ${near}? ` : ""}storage-conformance run --help lists every name (e.g. fio_fsync_p99_ms, sysbench_tps)`,
    );
  }
}

/** A parser's complaint as bad input (exit 2). */
function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message);
  }
}

/** The cluster suites a user may name with --suite (the self-tests are `npm test`'s). */
export function suiteNames(): string[] {
  return readdirSync(join(projectRoot, "suites/cluster"))
    .filter((f) => f.endsWith(".test.ts"))
    .map((f) => f.replace(/\.test\.ts$/, ""))
    .sort();
}

/** `--suite a,b` as suite names, checked; none when absent (every suite: nodes then skips itself, it runs only when named). */
function namedSuites(option: string | undefined): string[] {
  if (option === undefined) return [];
  const known = suiteNames();
  const names = option
    .split(",")
    .map((n) => n.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !known.includes(n));
  if (names.length === 0 || unknown.length)
    throw new UsageError(
      `--suite ${option}: ${unknown.length ? `no suite named ${unknown.join(", ")}` : "names no suite"}`,
      `name some of ${known.join(", ")}`,
    );
  return names;
}
