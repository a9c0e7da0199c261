import type { Reporter, SerializedError, TestCase, TestModule, Vitest } from "vitest/node";
import { redact } from "../../src/redact.ts";
import { applyFloor } from "../../src/report/performance.ts";
import { type CheckResult, type ReportSettings, type RunResults, serverVersionsOf, summarise } from "../../src/report/results.ts";
import { writeReports } from "../../src/report/write.ts";
import { readRunSettings, type RunSettings } from "../../src/run/settings.ts";
import "./context.ts";

/**
 * Turns vitest's results into the run's reports (results.json...) when it is
 * given a reports folder: the conformance command provides its settings
 * (`reportSettings`, through vitest's provide: no environment variable, no
 * temp file); SC_REPORTS_DIR names a folder for a plain vitest run. A plain
 * `npm test` writes nothing outside the terminal.
 */
export class ResultsReporter implements Reporter {
  private vitest?: Vitest;
  private readonly started = new Date();

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  async onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): Promise<void> {
    // The plain closing line CI systems (and people) can read without knowing vitest.
    const counts = { passed: 0, failed: unhandledErrors.length, skipped: 0 };
    for (const module of modules) {
      for (const t of module.children.allTests()) {
        const state = t.result().state;
        if (state === "passed") counts.passed++;
        else if (state === "failed") counts.failed++;
        else counts.skipped++;
      }
    }
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
    if (!this.vitest) return;
    const settings: ReportSettings = this.vitest.getRootProject().getProvidedContext().reportSettings ?? {};
    const provided = this.vitest.projects.find((p) => p.name === "cluster")?.getProvidedContext();
    // The cluster project's settings; a run without it (the unit tests alone) reads them here.
    const run = provided?.runSettings ?? settingsIfReadable();
    const reportsDir = settings.reportsDir ?? run?.reportsDir;
    if (!reportsDir) return;
    const facts = provided?.runFacts;
    const secrets = [...(settings.secrets ?? []), ...(provided?.secrets ?? [])];
    const checks: CheckResult[] = [];
    for (const module of modules) {
      for (const testCase of module.children.allTests()) checks.push(toCheck(testCase, secrets));
    }
    // An error outside any test (the cluster did not start, the manifests did
    // not load) fails the run; it must show as a failed check, not as no checks.
    for (const error of unhandledErrors) {
      checks.push({
        suite: "setup",
        name: "the cluster starts and the manifests under test load",
        status: "failed",
        values: {},
        message: redact(String(error.message ?? error), secrets),
        durationMs: 0,
      });
    }
    checks.unshift(...(settings.staticChecks ?? []));
    // Each recovery against the performance suite's floor, on the floor's check.
    applyFloor(checks);
    const finished = new Date();
    const results: RunResults = {
      runId: facts?.runId ?? provided?.runSettings?.runId ?? this.started.toISOString(),
      startedAt: this.started.toISOString(),
      finishedAt: finished.toISOString(),
      durationS: (finished.getTime() - this.started.getTime()) / 1000,
      manifestsDir: facts?.manifestsDir ?? provided?.runSettings?.manifestsDir ?? "manifests",
      cluster: facts?.cluster,
      ...(facts?.engine ? { engine: { ...facts.engine, serverVersions: serverVersionsOf(checks) } } : {}),
      timeoutOverrides: facts?.timeoutOverrides ?? [],
      ...(settings.deviations?.length ? { deviations: settings.deviations } : {}),
      summary: summarise(checks),
      checks,
    };
    const dir = await writeReports(reportsDir, results, { stepSummary: run?.stepSummary });
    process.stderr.write(`reports: ${dir} (and ${reportsDir}/latest)\n`);
  }
}

/** The run's settings from the environment, or none when they do not parse (the global setup has said why). */
function settingsIfReadable(): RunSettings | undefined {
  try {
    return readRunSettings();
  } catch {
    return undefined;
  }
}

function toCheck(testCase: TestCase, secrets: string[]): CheckResult {
  const result = testCase.result();
  const meta = testCase.meta();
  const status = result.state === "passed" ? "passed" : result.state === "failed" ? "failed" : "skipped";
  let message = "";
  if (result.state === "failed") message = result.errors.map((e) => e.message).join("\n");
  if (result.state === "skipped") message = result.note ?? "skipped";
  return {
    suite: testCase.module.moduleId.replace(/^.*\//, "").replace(/\.test\.ts$/, ""),
    name: testCase.fullName,
    status,
    values: meta.values ?? {},
    message: redact(message, secrets),
    durationMs: Math.round(testCase.diagnostic()?.duration ?? 0),
    ...(meta.notes?.length ? { notes: meta.notes.map((n) => redact(n, secrets)) } : {}),
    ...(meta.diagnostics ? { diagnostics: redact(meta.diagnostics, secrets) } : {}),
    ...(meta.diagnosticFiles
      ? { diagnosticFiles: Object.fromEntries(Object.entries(meta.diagnosticFiles).map(([name, text]) => [name, redact(text, secrets)])) }
      : {}),
    ...(meta.timeline ? { timeline: meta.timeline } : {}),
    ...(meta.milestones
      ? {
          milestones: {
            ...meta.milestones,
            milestones: meta.milestones.milestones.map((m) => ({ ...m, ...(m.detail ? { detail: redact(m.detail, secrets) } : {}) })),
          },
        }
      : {}),
  };
}
