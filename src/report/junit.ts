import type { RunResults } from "./results.ts";

const escapeXml = (text: string) =>
  text
    .replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!)
    // XML 1.0 forbids most control characters; container logs contain them.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "");

/** JUnit XML: one testsuite per suite, one testcase per check, values as properties. */
export function renderJUnit(results: RunResults): string {
  const suites = new Map<string, RunResults["checks"]>();
  for (const check of results.checks) suites.set(check.suite, [...(suites.get(check.suite) ?? []), check]);
  const lines = [`<?xml version="1.0" encoding="UTF-8"?>`];
  lines.push(
    `<testsuites name="storage-conformance" tests="${results.checks.length}" failures="${results.summary.failed}" skipped="${results.summary.skipped}" time="${results.durationS.toFixed(3)}">`,
  );
  for (const [suite, checks] of suites) {
    const failures = checks.filter((c) => c.status === "failed").length;
    const skipped = checks.filter((c) => c.status === "skipped").length;
    const time = checks.reduce((t, c) => t + c.durationMs, 0) / 1000;
    lines.push(`  <testsuite name="${escapeXml(suite)}" tests="${checks.length}" failures="${failures}" skipped="${skipped}" time="${time.toFixed(3)}">`);
    for (const c of checks) {
      lines.push(`    <testcase classname="${escapeXml(suite)}" name="${escapeXml(c.name)}" time="${(c.durationMs / 1000).toFixed(3)}">`);
      const values = Object.entries(c.values);
      if (values.length) {
        lines.push("      <properties>");
        for (const [name, v] of values)
          lines.push(`        <property name="${escapeXml(name)}" value="${escapeXml(`${v.value}${v.unit ? ` ${v.unit}` : ""}`)}"/>`);
        lines.push("      </properties>");
      }
      if (c.status === "failed") {
        const first = c.message.split("\n")[0] ?? "";
        const folder = c.diagnosticsDir ? `Diagnostics (events, objects, container and node logs): ${c.diagnosticsDir}/` : "";
        lines.push(
          `      <failure message="${escapeXml(first)}">${escapeXml([c.message, folder, c.diagnostics ?? ""].filter(Boolean).join("\n\n"))}</failure>`,
        );
        // The folder as an attachment, in the convention Jenkins and GitLab read.
        if (c.diagnosticsDir) lines.push(`      <system-err>${escapeXml(`[[ATTACHMENT|${c.diagnosticsDir}/diagnostics.txt]]`)}</system-err>`);
      }
      if (c.status === "skipped") lines.push(`      <skipped message="${escapeXml(c.message)}"/>`);
      if (c.notes?.length) lines.push(`      <system-out>${escapeXml(c.notes.join("\n"))}</system-out>`);
      lines.push("    </testcase>");
    }
    lines.push("  </testsuite>");
  }
  lines.push("</testsuites>");
  return `${lines.join("\n")}\n`;
}
