import { shardsLine } from "./merge.ts";
import { backupRows } from "./backups.ts";
import { fioRows } from "./performance.ts";
import { type CheckResult, findingsOf, type RunResults } from "./results.ts";

const icon = { passed: "✅", failed: "❌", skipped: "⏭️" } as const;
/** A passed check that reported a finding is marked as such: its title is the design's claim, which these manifests do not keep. */
const iconOf = (c: CheckResult) => (c.status === "passed" && findingsOf(c).length ? "⚠️" : icon[c.status]);
/** Text safe inside one Markdown table cell. */
export const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The headline values of a check, for one table cell. */
export function headlineValues(check: CheckResult, limit = 6): string {
  const preferred = [
    "recovery_p50_s",
    "recovery_p95_s",
    "recovery_max_s",
    "crash_recovery_s",
    "node_restart_recovery_s",
    "power_cuts",
    "power_cuts_inconclusive",
    "power_cut_dropped_bytes_p50",
    "claim_bound_s",
    "backup_bytes",
    "backup_s",
    "restore_same_server_s",
    "server_version",
    "provisioner",
  ];
  const entries = Object.entries(check.values);
  const ordered = [...entries.filter(([k]) => preferred.includes(k)), ...entries.filter(([k]) => !preferred.includes(k) && !/^cycle\d/.test(k))];
  return ordered
    .slice(0, limit)
    .map(([k, v]) => `${k}=${v.value}${v.unit && v.unit !== "" ? ` ${v.unit}` : ""}`)
    .join(", ");
}

/**
 * The database the run talked to, for every report's header: the engine asked
 * for, the server versions that answered, and, on the offline node, what its
 * image names serve (loudly when MySQL had to fall back to MariaDB).
 */
export function engineLines(results: RunResults): string[] {
  if (!results.engine) return [];
  const e = results.engine;
  const lines = [
    `**Engine:** ${e.name}${e.image ? ` (database container image replaced by \`${e.image}\`)` : " (the manifests' own image)"}; ` +
      `server: ${e.serverVersions.length ? e.serverVersions.join(", ") : "no check reached MySQL"}`,
  ];
  const offline = (results.cluster as { offlineEngines?: string } | undefined)?.offlineEngines;
  if (offline) lines.push(`${/NOT MySQL/.test(offline) ? "**WARNING: the offline node has no MySQL.** " : ""}Offline node: ${offline}`);
  return lines;
}

/** A summary people read in a pull request (and GITHUB_STEP_SUMMARY). */
export function renderMarkdown(results: RunResults): string {
  const { passed, failed, skipped } = results.summary;
  const cluster = results.cluster as Record<string, string | number | undefined> | undefined;
  const withFindings = results.checks.filter((c) => c.status === "passed" && findingsOf(c).length);
  const findingsText = withFindings.length ? `, ⚠️ ${withFindings.length} of them with a finding` : "";
  const lines = [
    `## Storage conformance: ${failed ? `❌ ${failed} failed` : "✅ all passed"} (${passed} passed${findingsText}, ${failed} failed, ${skipped} skipped)`,
    "",
    `Run \`${results.runId}\` in ${results.durationS.toFixed(1)} s on ${cluster ? `${cluster.kind} ${cluster.serverVersion}${cluster.image ? ` (\`${cluster.image}\`)` : ""}` : "no cluster (static checks only)"}; manifests \`${results.manifestsDir}\`.`,
    ...(shardsLine(results) ? ["", shardsLine(results)!] : []),
    ...(results.deviations?.length ? ["", "**Deviations from the manifests:**", "", ...results.deviations.map((d) => `- ${d}`)] : []),
    "",
    ...engineLines(results).map((l) => `${l}  `),
    ...(results.engine ? [""] : []),
    "| | suite | check | values |",
    "|---|---|---|---|",
    ...results.checks.map((c) => `| ${iconOf(c)} | ${c.suite} | ${cell(c.name)} | ${cell(headlineValues(c))} |`),
  ];
  const failures = results.checks.filter((c) => c.status === "failed");
  if (failures.length) {
    lines.push("", "### What failed");
    for (const c of failures) lines.push("", `**${c.suite} › ${c.name}**`, "", "```", c.message.trim(), "```");
  }
  const perf = fioRows(results);
  if (perf.length) {
    lines.push(
      "",
      "### Storage performance: the claim against its baseline",
      "",
      "median (min–max) of the repeats",
      "",
      "| figure | claim | baseline | claim / baseline |",
      "|---|---|---|---|",
    );
    const spread = ([median, min, max]: number[]) => `${median} (${min}–${max})`;
    for (const r of perf) lines.push(`| ${r.label} | ${spread(r.claim)} | ${spread(r.baseline)} | ${r.ratio ?? "-"} |`);
  }
  const backups = backupRows(results);
  if (backups) {
    lines.push("", "### Backups: the design's layers", "", "| method | the design says | size | backup | restore | outcome |", "|---|---|---|---|---|---|");
    const n = (v: number | undefined, unit: string) => (v === undefined ? "-" : `${v} ${unit}`);
    for (const r of backups)
      lines.push(
        `| ${r.method} | ${r.designSays} | ${r.bytes === undefined ? "-" : `${(r.bytes / 1e6).toFixed(1)} MB`} | ${n(r.backupS, "s")} | ${n(r.restoreS, "s")} | ${cell(r.outcome)} |`,
      );
  }
  if (withFindings.length) {
    lines.push("", "### Findings: what the design claims and these manifests do not do", "");
    for (const c of withFindings) for (const f of findingsOf(c)) lines.push(`- ⚠️ **${c.suite}**: ${f}`);
  }
  const notes = results.checks.flatMap((c) => (c.notes ?? []).filter((n) => !n.startsWith("finding: ")).map((n) => `- ${n}`));
  if (notes.length) lines.push("", "### Where the design and this cluster differ", "", ...new Set(notes));
  return `${lines.join("\n")}\n`;
}
