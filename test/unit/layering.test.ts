import { readdirSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../src/paths.ts";

// The layering of src/ (src/README.md), enforced: a file may import its own
// layer, the files at the src root, and the layers listed for it here.
// Same-rank layers (cluster/, mysql/, manifests/; ops/, report/) stay apart.

const allowed: Record<string, string[]> = {
  root: [],
  kube: [],
  cluster: ["kube"],
  mysql: ["kube"],
  manifests: ["kube"],
  run: ["mysql", "manifests"],
  // What the design deploys (the DeployedSetup handle, its dump): used by the checks and the operator commands alike.
  design: ["kube", "mysql", "manifests"],
  // A recovery: its milestones and arithmetic (pure: report/ charts them), and the pod replacement that measures them.
  recovery: ["kube", "mysql", "design"],
  // The ledger writer: its table, its pod, its log read against the table.
  ledger: ["kube", "cluster", "mysql", "manifests", "design", "recovery"],
  conformance: ["kube", "cluster", "mysql", "manifests", "run", "design", "recovery", "ledger"],
  ops: ["kube", "cluster", "mysql", "manifests", "design"],
  // The results model renders what any producer wrote; it knows nothing of the live suites.
  report: ["kube", "cluster", "mysql", "manifests", "recovery"],
  cli: ["kube", "cluster", "mysql", "manifests", "run", "design", "recovery", "ledger", "conformance", "ops", "report"],
};

interface Exception {
  file: string;
  specifier: string;
}

/** Upward imports that remain for now; one that no longer occurs fails the test, so the list only shrinks. */
const knownExceptions: Exception[] = [];

/** "root" for a file directly in src/, else its first directory. */
const layerOf = (file: string) => (file.includes("/") ? file.slice(0, file.indexOf("/")) : "root");

function rule(layer: string): string {
  if (layer === "root") return "a file at the src root may import only other root files (every layer imports it)";
  const may = [...allowed[layer]!.map((l) => `${l}/`), "the src root"];
  return `${layer}/ may import only ${may.length > 1 ? `${may.slice(0, -1).join(", ")} and ` : ""}${may.at(-1)}`;
}

// Static imports and re-exports (type-only ones too), side-effect imports, and import("…") in code or types.
const importPatterns = [
  /^[ \t]*(?:import|export)\b[^;'"`(=]*?\bfrom\s*(["'])([^"']+)\1/gm,
  /^[ \t]*import\s*(["'])([^"']+)\1/gm,
  /\bimport\s*\(\s*(["'])([^"']+)\1\s*\)/g,
];

/** Each relative import of a file, with the line its statement starts on. */
function relativeImports(text: string): { line: number; specifier: string }[] {
  return importPatterns
    .flatMap((pattern) => [...text.matchAll(pattern)].map((m) => ({ index: m.index, specifier: m[2]! })))
    .filter((i) => i.specifier.startsWith("."))
    .sort((a, b) => a.index - b.index)
    .map((i) => ({ line: text.slice(0, i.index).split("\n").length, specifier: i.specifier }));
}

/** Every import that breaks the layering, as "src/FILE:LINE imports "SPECIFIER" (LAYER): RULE". `files` maps paths relative to src/ to their text. */
function layeringViolations(files: Map<string, string>, exceptions = knownExceptions): string[] {
  const violations: string[] = [];
  const used = new Set<Exception>();
  for (const [file, text] of files) {
    const from = layerOf(file);
    for (const { line, specifier } of relativeImports(text)) {
      const target = posix.normalize(posix.join(posix.dirname(file), specifier));
      const to = target.startsWith("../") ? "outside src" : layerOf(target);
      let broken: string | undefined;
      if (!(from in allowed)) broken = `${from}/ is not a layer: add it to src/README.md and to the table in test/unit/layering.test.ts`;
      else if (to === "outside src") broken = "src/ imports nothing outside it (suites/, test/ and scripts/ sit on top)";
      else if (!(to in allowed)) broken = `${to}/ is not a layer: add it to src/README.md and to the table in test/unit/layering.test.ts`;
      else if (to !== from && to !== "root" && !allowed[from]!.includes(to)) broken = rule(from);
      if (!broken) continue;
      const exception = exceptions.find((e) => e.file === file && e.specifier === specifier);
      if (exception) used.add(exception);
      else violations.push(`src/${file}:${line} imports "${specifier}" (${to === "root" || to === "outside src" ? to : `${to}/`}): ${broken}`);
    }
  }
  for (const e of exceptions) if (!used.has(e)) violations.push(`src/${e.file} no longer imports "${e.specifier}" upward: remove it from knownExceptions`);
  return violations;
}

function sourceFiles(): Map<string, string> {
  const src = join(projectRoot, "src");
  const files = readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
  return new Map(files.map((f) => [f.split("\\").join("/"), readFileSync(join(src, f), "utf8")]));
}

describe("layering of src/", () => {
  it("every import in src/ goes to its own layer, one it may import, or the src root", () => {
    const files = sourceFiles();
    expect([...files.keys()]).toContain("cli/conformance.ts");
    expect(layeringViolations(files)).toEqual([]);
  });

  it("names each upward import, in every form, with its file, line and the rule it breaks", () => {
    const files = new Map([
      [
        "manifests/rules.ts",
        `import type { LoadedObject } from "./load.ts";\nimport {\n  findDatabaseWorkload,\n  type DatabaseWorkload,\n} from "../conformance/setup.ts";\n`,
      ],
      ["kube/apply.ts", `import type { LoadedObject } from "../manifests/load.ts";\nexport { redact } from "../report/results.ts";\n`],
      [
        "report/charts.ts",
        `// import { x } from "../conformance/phases.ts" in a comment is not an import\nconst phases = await import("../conformance/phases.ts");\n`,
      ],
      ["cluster/index.ts", `import "../mysql/client.ts";\nexport type Nodes = import("./multi-node.ts").ClusterNode[];\n`],
      ["paths.ts", `import { timeouts } from "./timeouts.ts";\nimport { connect } from "./kube/client.ts";\n`],
      ["cli/tool.ts", `import { a } from "../ops/status.ts";\nimport { b } from "../report/write.ts";\nimport { c } from "../../suites/support/test.ts";\n`],
      ["ops/status.ts", `import { d } from "../conformance/deployment.ts";\nimport { e } from "../report/results.ts";\nimport { f } from "../redact.ts";\n`],
    ]);
    expect(layeringViolations(files, [{ file: "report/charts.ts", specifier: "../gone.ts" }])).toEqual([
      `src/manifests/rules.ts:2 imports "../conformance/setup.ts" (conformance/): manifests/ may import only kube/ and the src root`,
      `src/kube/apply.ts:1 imports "../manifests/load.ts" (manifests/): kube/ may import only the src root`,
      `src/kube/apply.ts:2 imports "../report/results.ts" (report/): kube/ may import only the src root`,
      `src/report/charts.ts:2 imports "../conformance/phases.ts" (conformance/): report/ may import only kube/, cluster/, mysql/, manifests/, recovery/ and the src root`,
      `src/cluster/index.ts:1 imports "../mysql/client.ts" (mysql/): cluster/ may import only kube/ and the src root`,
      `src/paths.ts:2 imports "./kube/client.ts" (kube/): a file at the src root may import only other root files (every layer imports it)`,
      `src/cli/tool.ts:3 imports "../../suites/support/test.ts" (outside src): src/ imports nothing outside it (suites/, test/ and scripts/ sit on top)`,
      `src/ops/status.ts:1 imports "../conformance/deployment.ts" (conformance/): ops/ may import only kube/, cluster/, mysql/, manifests/, design/ and the src root`,
      `src/ops/status.ts:2 imports "../report/results.ts" (report/): ops/ may import only kube/, cluster/, mysql/, manifests/, design/ and the src root`,
      `src/report/charts.ts no longer imports "../gone.ts" upward: remove it from knownExceptions`,
    ]);
  });
});
