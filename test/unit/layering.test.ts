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
  manifests: [],
  run: ["manifests", "mysql"],
  // What the design deploys (the DeployedSetup handle, its dump): used by the checks and the operator commands alike.
  design: ["kube", "manifests", "mysql"],
  // A recovery: its milestones and arithmetic (pure: report/ charts them), and the pod replacement that measures them.
  recovery: ["kube", "mysql", "design"],
  // The ledger writer: its table, its pod, its log read against the table.
  ledger: ["kube", "cluster", "manifests", "design", "recovery"],
  conformance: ["kube", "cluster", "mysql", "manifests", "run", "design", "ledger"],
  ops: ["kube", "mysql", "manifests", "design"],
  // The results model renders what any producer wrote: only recovery's pure milestones (checked below, transitively).
  report: ["recovery"],
  cli: ["kube", "mysql", "manifests", "run", "design", "recovery", "ledger", "conformance", "ops", "report"],
};

/** The scripts of scripts/ a layer runs (a process, not an import), by name. */
const scriptsRun: Record<string, string[]> = {
  cluster: ["build-offline-image.sh", "build-project-images.sh"],
  manifests: ["ensure-kustomize.sh"],
  cli: ["ensure-docker.sh"],
};

/** Layers report/ never reaches, directly or through another file: it renders results, whoever produced them. */
const outOfReportsReach = ["kube", "cluster", "mysql", "manifests", "design"];

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

/** Every layer-to-layer arrow the imports make, as "from → to". */
function arrowsUsed(files: Map<string, string>): Set<string> {
  const arrows = new Set<string>();
  for (const [file, text] of files) {
    for (const { specifier } of relativeImports(text)) {
      const target = posix.normalize(posix.join(posix.dirname(file), specifier));
      const [from, to] = [layerOf(file), layerOf(target)];
      if (from !== to && to !== "root" && !target.startsWith("../")) arrows.add(`${from} → ${to}`);
    }
  }
  return arrows;
}

/** The scripts of scripts/ each file runs: `${projectRoot}/scripts/NAME` or new URL(".../scripts/NAME", import.meta.url) in its code. */
function scriptRuns(files: Map<string, string>): { file: string; script: string }[] {
  const patterns = [/\$\{projectRoot\}\/scripts\/([\w.-]+)/g, /new URL\(\s*["'`](?:\.\.\/)+scripts\/([\w.-]+)["'`]/g];
  return [...files].flatMap(([file, text]) => {
    const code = text.replace(/\/\*[^]*?\*\/|^\s*\/\/.*$/gm, "");
    return patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((m) => ({ file, script: m[1]! })));
  });
}

/** The files a file reaches through its imports, itself excluded. */
function reachedFrom(start: string, files: Map<string, string>): Set<string> {
  const seen = new Set<string>();
  const queue = [start];
  while (queue.length) {
    const file = queue.pop()!;
    for (const { specifier } of relativeImports(files.get(file) ?? "")) {
      const target = posix.normalize(posix.join(posix.dirname(file), specifier));
      if (!seen.has(target) && files.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  return seen;
}

/** src/README.md's table of layers as layer → the layers it may import. */
function documentedLayers(): Record<string, string[]> {
  const readme = readFileSync(join(projectRoot, "src/README.md"), "utf8");
  const rows = readme.split("\n").filter((line) => /^\| (src root|`[a-z]+\/`) /.test(line));
  return Object.fromEntries(
    rows.map((row) => {
      const cells = row.split("|").map((c) => c.trim());
      const layer = cells[1]!.startsWith("src root") ? "root" : cells[1]!.replace(/`|\//g, "");
      return [layer, [...cells.at(-2)!.matchAll(/`([a-z]+)\/`/g)].map((m) => m[1]!)];
    }),
  );
}

function sourceFiles(): Map<string, string> {
  const src = join(projectRoot, "src");
  const files = readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
  return new Map(files.map((f) => [f.split("\\").join("/"), readFileSync(join(src, f), "utf8")]));
}

describe("layering of src/", () => {
  it("every import in src/ goes to its own layer, one it may import, or the src root", () => {
    const files = sourceFiles();
    expect([...files.keys()]).toContain("cli/commands/run.ts");
    expect(layeringViolations(files)).toEqual([]);
  });

  it("every arrow the table allows is one an import makes (the table lists what is, not what might be)", () => {
    const used = arrowsUsed(sourceFiles());
    const unused = Object.entries(allowed)
      .flatMap(([from, tos]) => tos.map((to) => `${from} → ${to}`))
      .filter((arrow) => !used.has(arrow));
    expect(unused, "arrows allowed that no import makes: remove them here and in src/README.md").toEqual([]);
  });

  it("src/README.md's table of layers is this test's table", () => {
    const sorted = (table: Record<string, string[]>) => Object.fromEntries(Object.entries(table).map(([layer, tos]) => [layer, [...tos].sort()]));
    expect(sorted(documentedLayers())).toEqual(sorted(allowed));
  });

  it("a script of scripts/ is run only from the layers that may run it", () => {
    const runs = scriptRuns(sourceFiles());
    expect(runs.map((r) => r.script)).toContain("ensure-kustomize.sh");
    expect(
      runs.filter((r) => !(scriptsRun[layerOf(r.file)] ?? []).includes(r.script)).map((r) => `src/${r.file} runs scripts/${r.script}`),
      "scripts run from a layer not listed in scriptsRun (and in src/README.md)",
    ).toEqual([]);
    const used = new Set(runs.map((r) => `${layerOf(r.file)}:${r.script}`));
    expect(Object.entries(scriptsRun).flatMap(([layer, scripts]) => scripts.filter((s) => !used.has(`${layer}:${s}`)).map((s) => `${layer}: ${s}`))).toEqual(
      [],
    );
  });

  it("nothing report/ imports, directly or through another file, is Kubernetes, MySQL, cluster or manifest code", () => {
    const files = sourceFiles();
    const reached = [...files.keys()]
      .filter((f) => layerOf(f) === "report")
      .flatMap((f) => [...reachedFrom(f, files)].map((to) => `src/${f} reaches src/${to}`));
    expect(reached.filter((r) => outOfReportsReach.includes(layerOf(r.slice(r.lastIndexOf(" src/") + 5))))).toEqual([]);
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
      `src/manifests/rules.ts:2 imports "../conformance/setup.ts" (conformance/): manifests/ may import only the src root`,
      `src/kube/apply.ts:1 imports "../manifests/load.ts" (manifests/): kube/ may import only the src root`,
      `src/kube/apply.ts:2 imports "../report/results.ts" (report/): kube/ may import only the src root`,
      `src/report/charts.ts:2 imports "../conformance/phases.ts" (conformance/): report/ may import only recovery/ and the src root`,
      `src/cluster/index.ts:1 imports "../mysql/client.ts" (mysql/): cluster/ may import only kube/ and the src root`,
      `src/paths.ts:2 imports "./kube/client.ts" (kube/): a file at the src root may import only other root files (every layer imports it)`,
      `src/cli/tool.ts:3 imports "../../suites/support/test.ts" (outside src): src/ imports nothing outside it (suites/, test/ and scripts/ sit on top)`,
      `src/ops/status.ts:1 imports "../conformance/deployment.ts" (conformance/): ops/ may import only kube/, mysql/, manifests/, design/ and the src root`,
      `src/ops/status.ts:2 imports "../report/results.ts" (report/): ops/ may import only kube/, mysql/, manifests/, design/ and the src root`,
      `src/report/charts.ts no longer imports "../gone.ts" upward: remove it from knownExceptions`,
    ]);
  });
});
