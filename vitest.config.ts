import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { ResultsReporter } from "./suites/support/reporter.ts";

// Three projects, in two groups that run one after the other:
//  1. `unit` (no cluster) and `self-tests` (the suite's own checks pointed at broken
//     manifests, and the operator commands): they assert findings and behaviour,
//     not timings, so they may share the machine (vitest's default workers: one
//     fewer than the cores; on 2 cores they run one file at a time, and 4 workers
//     measured no faster here: the machine's CPU is the limit);
//  2. `cluster`, the conformance suites, one file at a time and alone on the
//     machine, so that recovery and performance figures are honest.
// Both cluster projects use the one cluster suites/support/global-setup.ts starts
// (or connects to) before any test, and stops after the last.
const clusterSetup = ["suites/support/global-setup.ts"];
// Timeouts of the checks come from src/timeouts.ts; these only stop a hung test.
const hungMs = 900_000;
// Installed as a package (npm i storage-conformance), the suites and src/ sit under
// node_modules, which vitest hands to Node untransformed, and Node strips no types
// there: the suite's own files are transformed like any source.
const suiteRoot = fileURLToPath(new URL(".", import.meta.url));
const ownSources = { deps: { inline: [new RegExp(`^${suiteRoot.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(src|suites)/`)] } };

export default defineConfig({
  test: {
    reporters: ["default", new ResultsReporter()],
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts", "suites/static/**/*.test.ts"],
          testTimeout: 10_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "self-tests",
          include: ["suites/self/**/*.test.ts"],
          server: ownSources,
          globalSetup: clusterSetup,
          testTimeout: hungMs,
          hookTimeout: hungMs,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "cluster",
          include: ["suites/cluster/**/*.test.ts"],
          server: ownSources,
          globalSetup: clusterSetup,
          testTimeout: hungMs,
          hookTimeout: hungMs,
          // One MySQL at a time on a 2-core machine keeps recovery timings honest.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
