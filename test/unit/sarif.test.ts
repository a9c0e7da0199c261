import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { afterAll, describe, expect, it } from "vitest";
import { findingsAsAnnotations, findingsAsSarif } from "../../src/cli/findings-output.ts";
import type { Finding } from "../../src/manifests/rules.ts";
import { staticCheck } from "../../src/manifests/static-check.ts";
import { projectRoot } from "../../src/paths.ts";
import { removeTempDirs, runCli } from "./support/fake-cluster.ts";

afterAll(removeTempDirs);

/** SARIF 2.1.0's JSON schema (test/unit/fixtures/sarif/PROVENANCE.md), compiled once. */
function sarifValidator() {
  const text = readFileSync(join(projectRoot, "test/unit/fixtures/sarif/sarif-2.1.0-rtm.5.json"), "utf8");
  // Draft-04 read as draft-07: only safe while no keyword whose meaning changed is used (see PROVENANCE.md).
  expect(text).not.toMatch(/"exclusive(Minimum|Maximum)"/);
  expect(text.match(/"id":\s*"/g), "id as a keyword (a string), not as a property's name").toHaveLength(1);
  const schema = JSON.parse(text) as Record<string, unknown>;
  const { $schema: _draft04, id, ...rest } = schema;
  // unicodeRegExp off: the schema's language pattern (^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$) has a stray ] that only non-unicode regular expressions accept.
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  ajv.addFormat("date-time", (s: string) => !Number.isNaN(Date.parse(s)) && /^\d{4}-\d\d-\d\dT/.test(s));
  ajv.addFormat("uri", (s: string) => URL.canParse(s));
  ajv.addFormat("uri-reference", (s: string) => URL.canParse(s, "file:///"));
  return ajv.compile({ ...rest, $id: id as string });
}
const validate = sarifValidator();
const problems = () => (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);

describe("--output-format sarif", () => {
  const fixtures = readdirSync(join(projectRoot, "fixtures/static")).filter((d) => d !== "malformed" && d !== "kustomize-overlay");
  it("is SARIF 2.1.0 by its JSON schema, for every static fixture's findings and for none", () => {
    let results = 0;
    for (const fixture of fixtures) {
      const findings = staticCheck(join(projectRoot, "fixtures/static", fixture));
      const sarif = findingsAsSarif(findings) as { runs: { results: unknown[] }[] };
      expect(validate(sarif), `${fixture}: ${problems().join("; ")}`).toBe(true);
      results += sarif.runs[0]!.results.length;
    }
    expect(results, "findings the fixtures gave").toBeGreaterThan(5);
    expect(validate(findingsAsSarif([])), problems().join("; ")).toBe(true);
    // The schema judges: a log of another version, or a result without its message, is refused.
    expect(validate({ ...findingsAsSarif([]), version: "2.0.0" })).toBe(false);
    const sarif = findingsAsSarif(staticCheck(join(projectRoot, "fixtures/static/no-provisioning"))) as { runs: { results: Record<string, unknown>[] }[] };
    delete sarif.runs[0]!.results[0]!.message;
    expect(validate(sarif)).toBe(false);
    expect(problems()).toContain("/runs/0/results/0 must have required property 'message'");
  });

  it("places each finding at its file and line, with its rule's reason and fix", () => {
    const finding: Finding = { rule: "storage-class", severity: "error", file: "k8s/pvc.yaml", line: 14, message: "no provisioning", fix: "name a class" };
    const sarif = findingsAsSarif([finding, { ...finding, severity: "info", line: 0 }]) as {
      runs: { tool: { driver: { rules: { id: string; help: { text: string } }[] } }; results: Record<string, unknown>[] }[];
    };
    const [run] = sarif.runs;
    const ruleIndex = run!.tool.driver.rules.findIndex((r) => r.id === "storage-class");
    expect(run!.results[0]).toEqual({
      ruleId: "storage-class",
      ruleIndex,
      level: "error",
      message: { text: "no provisioning (fix: name a class)" },
      locations: [{ physicalLocation: { artifactLocation: { uri: "k8s/pvc.yaml", uriBaseId: "%SRCROOT%" }, region: { startLine: 14 } } }],
    });
    expect(run!.results[1]).toMatchObject({ level: "note", locations: [{ physicalLocation: { artifactLocation: { uri: "k8s/pvc.yaml" } } }] });
    expect(JSON.stringify(run!.results[1])).not.toContain("region");
    expect(run!.tool.driver.rules.map((r) => r.id)).toContain("schema");
  });

  it("is what the command prints, exit 1 on a broken manifest; under GitHub Actions each finding is also an annotation", async () => {
    const ran = await runCli("static", ["fixtures/static/no-provisioning", "--output-format", "sarif"], { GITHUB_ACTIONS: "true" });
    expect(ran.code).toBe(1);
    expect(validate(JSON.parse(ran.stdout)), problems().join("; ")).toBe(true);
    expect(ran.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(
        /^::error file=fixtures\/static\/no-provisioning\/mysql-pvc\.yaml,line=14,title=storage-conformance storage-class::data claim mysql-pvc sets storageClassName: "", which turns dynamic provisioning off/,
      ),
      expect.stringMatching(
        /^::warning file=fixtures\/static\/no-provisioning\/mysql-deployment\.yaml,line=20,title=storage-conformance network-policy::no NetworkPolicy selects the pods of Deployment\/mysql/,
      ),
    ]);
  }, 60_000);
});

describe("GitHub annotations", () => {
  it("escape what the runner reads as the command's end or a new line", () => {
    const finding: Finding = { rule: "schema", severity: "warning", file: "k8s/a,b:c.yaml", line: 3, message: "100% wrong\nsecond line", fix: "x" };
    expect(findingsAsAnnotations([finding, { ...finding, severity: "info", line: 0 }])).toEqual([
      "::warning file=k8s/a%2Cb%3Ac.yaml,line=3,title=storage-conformance schema::100%25 wrong%0Asecond line (fix: x)",
      "::notice file=k8s/a%2Cb%3Ac.yaml,title=storage-conformance schema::100%25 wrong%0Asecond line (fix: x)",
    ]);
  });
});
