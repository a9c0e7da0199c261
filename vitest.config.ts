import { defineConfig } from "vitest/config";
import { ResultsReporter } from "./suites/support/reporter.ts";

// Two projects: `unit` needs no cluster and runs in seconds; `cluster` starts
// (or connects to) one cluster for all suites in suites/cluster/global-setup.ts.
export default defineConfig({
  test: {
    reporters: ["default", new ResultsReporter()],
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts", "suites/static/**/*.test.ts"],
          testTimeout: 10_000,
        },
      },
      {
        test: {
          name: "cluster",
          include: ["suites/cluster/**/*.test.ts"],
          globalSetup: ["suites/cluster/global-setup.ts"],
          // Timeouts of the checks come from src/timeouts.ts; these only stop a hung test.
          testTimeout: 900_000,
          hookTimeout: 900_000,
          // One MySQL at a time on a 2-core machine keeps recovery timings honest.
          fileParallelism: false,
        },
      },
    ],
  },
});
