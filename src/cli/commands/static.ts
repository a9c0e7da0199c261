import { loadManifests, ManifestError } from "../../manifests/load.ts";
import type { Finding } from "../../manifests/rules.ts";
import { secretValues } from "../../manifests/secrets.ts";
import { checkObjects, formatFinding } from "../../manifests/static-check.ts";
import { storageClassDeviation, withStorageClass } from "../../manifests/storage-class.ts";
import { newRunId } from "../run-id.ts";
import { summarise, type RunResults } from "../../report/results.ts";
import { writableFolderProblem } from "../../files.ts";
import { applyRunSettings, readRunSettings, type RunSettings } from "../../run/settings.ts";
import { exitStatusHelp, outputFormatHelp, UsageError, type Command, type CommandIo } from "../command.ts";
import { findingsAsAnnotations, findingsAsSarif } from "../findings-output.ts";
import { addSecrets } from "../redacted-output.ts";
import { parseStaticOptions, type StaticOptions } from "../run-options.ts";
import { findingsAsChecks } from "../static-results.ts";

export const staticUsage = `usage: storage-conformance static [DIR] [options]
       (npm run conformance -- --static-only [options])

The checks that need no cluster and no Docker, in about a second: every object
of DIR (default ./manifests) against Kubernetes' own OpenAPI schema, and the
storage rules (the data directory on the claim, the claim's size, access mode
and class, one writer, credentials from a Secret, ...), each finding with its
file, line, rule, severity, reason and fix. What is read is what kubectl
applies: *.yaml, *.yml and *.json of DIR (a kustomization.yaml is built).

  DIR, --manifests DIR
                     the manifests (default: manifests/ here)
  --storage-class NAME
                     judge every claim as applied with this StorageClass
                     (recorded as a deviation)
${outputFormatHelp(["text", "json", "sarif"])}
                     text: FILE:LINE RULE SEVERITY MESSAGE; json: the findings;
                     sarif: SARIF 2.1.0 for code scanning
  --reports DIR      also write results.json, junit.xml, summary.md and
                     report.html to DIR/<run>/ and DIR/latest/ (none without it)
  -h, --help         this text

Under GitHub Actions (GITHUB_ACTIONS=true) every finding is also printed as a
workflow command (::error file=...,line=...::), which the runner shows as an
annotation on the file. Paths are relative to the directory you run it in.
--kubeconfig is refused: static checks read no cluster.

${exitStatusHelp}
(1 here: a finding of severity error; warnings and infos do not fail.)`;

/** The static checks of `options`, printed in its format; returns the exit status. */
export async function runStatic(options: StaticOptions, io: CommandIo, settings: RunSettings): Promise<number> {
  io.format = options.format;
  const reportsProblem = options.reportsDir === undefined ? undefined : writableFolderProblem(options.reportsDir);
  if (reportsProblem) throw new UsageError(`--reports ${reportsProblem}`, "name a folder that can be written");
  let objects;
  try {
    objects = loadManifests(options.manifestsDir);
  } catch (error) {
    if (error instanceof ManifestError) throw new UsageError(error.message);
    throw error;
  }
  // From here on every line printed is redacted of the manifests' secret values.
  addSecrets(secretValues(objects));
  const { storageClass } = options;
  const ruleOptions = { dataDir: settings.dataDir, minStorage: settings.minStorage };
  // The manifests are judged as the run applies them: with --storage-class, on that class.
  const findings: Finding[] = checkObjects(storageClass === undefined ? objects : withStorageClass(objects, storageClass), ruleOptions);
  const deviations = storageClass === undefined ? [] : [storageClassDeviation(objects, storageClass)];
  for (const deviation of deviations) io.err(`deviation: ${deviation}`);
  const errors = findings.filter((f) => f.severity === "error").length;
  const warnings = findings.filter((f) => f.severity === "warning").length;
  if (settings.githubActions) for (const line of findingsAsAnnotations(findings)) io.err(line);
  if (options.format === "json")
    io.out(JSON.stringify({ manifestsDir: options.manifestsDir, findings, ...(deviations.length ? { deviations } : {}) }, null, 2));
  else if (options.format === "sarif") io.out(JSON.stringify(findingsAsSarif(findings), null, 2));
  else {
    for (const f of findings) io.out(formatFinding(f));
    io.out(`${findings.length} findings: ${errors} errors, ${warnings} warnings`);
  }
  if (options.reportsDir !== undefined) {
    const checks = findingsAsChecks(findings);
    const now = new Date().toISOString();
    const results: RunResults = {
      runId: newRunId(),
      startedAt: now,
      finishedAt: now,
      durationS: 0,
      manifestsDir: options.manifestsDir,
      timeoutOverrides: [],
      ...(deviations.length ? { deviations } : {}),
      summary: summarise(checks),
      checks,
    };
    // The report writers (and the chart library behind report.html) load only when reports are asked for.
    const { writeReports } = await import("../../report/write.ts");
    const dir = await writeReports(options.reportsDir, results, settings.stepSummary ? { stepSummary: settings.stepSummary } : {});
    io.err(`reports: ${dir} (and ${options.reportsDir}/latest)`);
  }
  return errors > 0 ? 1 : 0;
}

/** The run's settings from the environment; a malformed variable is bad input. */
export function runSettings(): RunSettings {
  let settings: RunSettings;
  try {
    settings = readRunSettings();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  applyRunSettings(settings);
  return settings;
}

export const staticCheck: Command = {
  name: "static",
  summary: "schema and storage rules of a folder of manifests, no cluster needed",
  usage: staticUsage,
  async run(argv, io) {
    const options = parseStaticOptions(argv);
    if (options === "help") {
      io.out(staticUsage);
      return 0;
    }
    io.format = options.format;
    return runStatic(options, io, runSettings());
  },
};
