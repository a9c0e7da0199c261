/**
 * The static findings in the forms their readers take: SARIF 2.1.0 for code
 * scanning (GitHub's upload-sarif and any other SARIF viewer), and GitHub
 * Actions workflow commands, which the runner turns into annotations on the
 * pull request's files. Here, in cli/, because only the command line knows
 * both the findings (manifests/) and where they are shown.
 */
import { readFileSync } from "node:fs";
import { rules, type Finding, type Severity } from "../manifests/rules.ts";
import { schemaVersion } from "../manifests/schema.ts";
import { projectRoot } from "../paths.ts";

const level: Record<Severity, "error" | "warning" | "note"> = { error: "error", warning: "warning", info: "note" };

/** The rules a finding can name: the schema check, then the storage rules, in their order. */
function ruleCatalog(): { id: string; severity: Severity; explanation: string; fix: string }[] {
  return [
    {
      id: "schema",
      severity: "error",
      explanation: `every object matches Kubernetes ${schemaVersion}'s OpenAPI schema (unknown fields, wrong types)`,
      fix: `write the object as Kubernetes ${schemaVersion}'s API defines it`,
    },
    ...rules.map((r) => ({ id: r.id, severity: r.severity, explanation: r.explanation, fix: r.fix })),
  ];
}

function suiteVersion(): string {
  try {
    return (JSON.parse(readFileSync(`${projectRoot}/package.json`, "utf8")) as { version?: string }).version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

/**
 * One SARIF 2.1.0 log of one run: every rule in the driver (so a viewer can
 * show the reason and the fix of a rule with no result), every finding a
 * result at its file and line. `file`s are relative to the directory the
 * command ran in, which is the repository root in CI (%SRCROOT%).
 */
export function findingsAsSarif(findings: Finding[]): object {
  const catalog = ruleCatalog();
  const index = new Map(catalog.map((r, i) => [r.id, i]));
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "storage-conformance",
            version: suiteVersion(),
            rules: catalog.map((r) => ({
              id: r.id,
              shortDescription: { text: r.explanation },
              help: { text: `fix: ${r.fix}` },
              defaultConfiguration: { level: level[r.severity] },
            })),
          },
        },
        results: findings.map((f) => ({
          ruleId: f.rule,
          ...(index.has(f.rule) ? { ruleIndex: index.get(f.rule) } : {}),
          level: level[f.severity],
          message: { text: `${f.message} (fix: ${f.fix})` },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: f.file.split("\\").join("/"), uriBaseId: "%SRCROOT%" },
                ...(f.line >= 1 ? { region: { startLine: f.line } } : {}),
              },
            },
          ],
        })),
        columnKind: "unicodeCodePoints",
      },
    ],
  };
}

/** A workflow command's data: the runner reads %, CR and LF as escapes. */
const escapeData = (text: string) => text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
/** A workflow command's property: also : and , which end a property. */
const escapeProperty = (text: string) => escapeData(text).replace(/:/g, "%3A").replace(/,/g, "%2C");

/** Each finding as `::error file=F,line=L,title=RULE::MESSAGE` (warning, notice by severity), for the runner to annotate. */
export function findingsAsAnnotations(findings: Finding[]): string[] {
  const command: Record<Severity, string> = { error: "error", warning: "warning", info: "notice" };
  return findings.map(
    (f) =>
      `::${command[f.severity]} file=${escapeProperty(f.file)}${f.line >= 1 ? `,line=${f.line}` : ""},title=${escapeProperty(`storage-conformance ${f.rule}`)}::${escapeData(`${f.message} (fix: ${f.fix})`)}`,
  );
}
