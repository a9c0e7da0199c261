import { describe, expect, it } from "vitest";
import { ackTimelineSpec, recoverySpec } from "../../src/report/charts.ts";
import { renderHtml } from "../../src/report/html.ts";
import { renderJUnit } from "../../src/report/junit.ts";
import { renderMarkdown } from "../../src/report/markdown.ts";
import type { CheckResult, RunResults } from "../../src/report/results.ts";
import { runOf } from "./support/results.ts";

const checks: CheckResult[] = [
  {
    suite: "survival",
    name: "the ecomdb dataset > survives 2 deletions of the MySQL pod",
    status: "passed",
    values: {
      cycle1_oldPodGone_s: { value: 1.1, unit: "s" },
      cycle1_mysqldReady_s: { value: 4.0, unit: "s" },
      cycle1_firstVerifiedQuery_s: { value: 4.4, unit: "s" },
      cycle2_oldPodGone_s: { value: 1.0, unit: "s" },
      cycle2_mysqldReady_s: { value: 3.5, unit: "s" },
      cycle2_firstVerifiedQuery_s: { value: 3.9, unit: "s" },
      recovery_p50_s: { value: 3.9, unit: "s" },
      recovery_budget_s: { value: 30, unit: "s" },
    },
    message: "",
    durationMs: 20_000,
    notes: ["local-path volumes are directories on one node's disk"],
  },
  {
    suite: "binding",
    name: 'mysql-pvc > is Bound <fast> & "right"',
    status: "failed",
    values: {},
    message: 'gave up waiting for PersistentVolumeClaim mysql-pvc to be Bound: StorageClass "fast-ssd" does not exist (classes: local-path, standard)',
    durationMs: 1_500,
    diagnostics: "Events (oldest first):\n  ProvisioningFailed\u0007",
  },
];
const results: RunResults = runOf(checks, {
  runId: "20261125T000000-abcdef",
  cluster: { kind: "k3s", serverVersion: "v1.34.4", image: "storage-conformance/kubenode:abc" },
});

describe("JUnit", () => {
  it("counts checks and failures, escapes XML and drops control characters", () => {
    const xml = renderJUnit(results);
    expect(xml).toContain('<testsuites name="storage-conformance" tests="2" failures="1" skipped="0" time="60.000">');
    expect(xml).toContain('name="mysql-pvc &gt; is Bound &lt;fast&gt; &amp; &quot;right&quot;"');
    expect(xml).toContain(
      '<failure message="gave up waiting for PersistentVolumeClaim mysql-pvc to be Bound: StorageClass &quot;fast-ssd&quot; does not exist',
    );
    expect(xml).toContain('<property name="recovery_p50_s" value="3.9 s"/>');
    expect(xml).not.toContain("\u0007");
  });
});

describe("Markdown", () => {
  it("leads with the verdict, lists each check and says what failed", () => {
    const md = renderMarkdown(results);
    expect(md.split("\n")[0]).toBe("## Storage conformance: ❌ 1 failed (1 passed, 1 failed, 0 skipped)");
    expect(md).toContain("| ✅ | survival | the ecomdb dataset > survives 2 deletions of the MySQL pod | recovery_p50_s=3.9 s, recovery_budget_s=30 s |");
    expect(md).toContain('StorageClass "fast-ssd" does not exist (classes: local-path, standard)');
    expect(md).toContain("- local-path volumes are directories on one node's disk");
  });
});

describe("a passed check with a finding (a claim of the design these manifests do not keep)", () => {
  const withFinding = runOf([
    {
      suite: "security",
      name: "network: strangers are refused",
      status: "passed",
      values: {},
      message: "",
      durationMs: 3_000,
      notes: ["network: a stranger connected", "finding: no NetworkPolicy selects the MySQL pods"],
    },
    { ...checks[0]! },
  ]);

  it("is marked in the Markdown table and headline and listed under Findings, not among the differences", () => {
    const md = renderMarkdown(withFinding);
    expect(md.split("\n")[0]).toBe("## Storage conformance: ✅ all passed (2 passed, ⚠️ 1 of them with a finding, 0 failed, 0 skipped)");
    expect(md).toContain("| ⚠️ | security | network: strangers are refused |");
    expect(md).toContain("| ✅ | survival |");
    expect(md).toContain("### Findings: what the design claims and these manifests do not do\n\n- ⚠️ **security**: no NetworkPolicy selects the MySQL pods");
    expect(md).not.toContain("- finding: ");
    expect(md).toContain("- network: a stranger connected");
  });

  it("is marked in the HTML banner, table and findings list", async () => {
    const html = await renderHtml(withFinding);
    expect(html).toContain("Every check passed — 2 passed (1 with a finding), 0 failed, 0 skipped");
    expect(html).toContain('<td class="finding">finding</td><td>security</td>');
    expect(html).toContain('<li class="finding"><b>security</b>: no NetworkPolicy selects the MySQL pods</li>');
  });
});

describe("HTML", () => {
  it("is self-contained, with the recovery chart as inline SVG and the failure's diagnostics", async () => {
    const html = await renderHtml(results);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link |src="http/);
    expect(html).toContain("<svg");
    expect(html).toContain("Recovery after pod deletion, by phase (s)");
    expect(html).toContain("1 check failed");
    expect(html).toContain("Diagnostics collected (claims, pods, events, logs)");
  });

  it("stacks each cycle's phases as durations that add up to the total", () => {
    const spec = recoverySpec(results) as unknown as { layer: { data: { values: { cycle: string; seconds: number }[] } }[] };
    const bars = spec.layer[0]!.data.values.filter((r) => r.cycle === "#1");
    expect(bars.map((b) => b.seconds)).toEqual([1.1, 2.9, 0.4]);
    expect(bars.reduce((t, b) => t + b.seconds, 0)).toBeCloseTo(4.4, 5);
  });
});

describe("the acknowledged-commits chart", () => {
  it("plots commits per second with each disruption and the first commit after it marked", async () => {
    const withTimeline: RunResults = {
      ...results,
      checks: [
        {
          ...checks[0]!,
          timeline: {
            binS: 0.1,
            acks: [10, 10, 0, 0, 0, 12, 10],
            marks: [
              { label: "pod deletion 1", atS: 0.2 },
              { label: "writes resume 1", atS: 0.5 },
            ],
          },
        },
      ],
    };
    const spec = ackTimelineSpec(withTimeline.checks[0]!) as { layer: { data: { values: { s?: number; rate?: number; kind?: string }[] } }[] };
    expect(spec.layer[0]!.data.values.slice(0, 3)).toEqual([
      { s: 0, rate: 100 },
      { s: 0.1, rate: 100 },
      { s: 0.2, rate: 0 },
    ]);
    expect(spec.layer[1]!.data.values.map((m) => m.kind)).toEqual(["disruption", "writes resume"]);
    const html = await renderHtml(withTimeline);
    expect(html).toContain("Acknowledged commits: the ecomdb dataset &gt; survives 2 deletions of the MySQL pod");
  });
  it("is left out for a check without a writer", () => {
    expect(ackTimelineSpec(checks[1]!)).toBeUndefined();
  });
});
