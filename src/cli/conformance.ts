import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { startVitest } from "vitest/node";
import { newRunId } from "../cluster/index.ts";
import { loadManifests, ManifestError } from "../manifests/load.ts";
import { projectRoot } from "../paths.ts";
import { loadTimeouts } from "../timeouts.ts";

const usage = `usage: npm run conformance -- [options]

Runs the conformance suites against the storage manifests and writes
reports/<run>/ (and reports/latest/): results.json. Exits non-zero when a check fails.

  --manifests DIR    manifests under test (default: manifests/, or SC_MANIFESTS)
  --kubeconfig FILE  use this cluster (default: KUBECONFIG; without either,
                     a k3s node is started in Docker and removed afterwards)
  --reports DIR      where reports go (default: reports/)
  -h, --help         this text

Environment: K3S_IMAGE (k3s image to run), SC_OFFLINE=1 (skip the pull, use the
offline image), SC_TIMEOUT_<NAME>_MS (deadlines, see src/timeouts.ts),
KEEP_NAMESPACES=1 (keep each check's namespace for debugging).`;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        manifests: { type: "string" },
        kubeconfig: { type: "string" },
        reports: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (args.help) {
    console.log(usage);
    return 0;
  }
  const manifestsDir = resolve(args.manifests ?? process.env.SC_MANIFESTS ?? `${projectRoot}/manifests`);
  try {
    loadManifests(manifestsDir);
    loadTimeouts();
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 2;
  }
  process.env.SC_MANIFESTS = manifestsDir;
  process.env.SC_REPORTS_DIR = resolve(args.reports ?? `${projectRoot}/reports`);
  process.env.SC_RUN_ID = newRunId();
  const kubeconfig = args.kubeconfig ?? process.env.KUBECONFIG;
  if (kubeconfig) process.env.SC_KUBECONFIG = resolve(kubeconfig);

  const vitest = await startVitest("test", [], { project: ["cluster"], watch: false, root: projectRoot });
  const failed = vitest.state.getCountOfFailedTests() + vitest.state.getUnhandledErrors().length;
  const failedSetup = process.exitCode !== undefined && process.exitCode !== 0;
  await vitest.close();
  return failed > 0 || failedSetup ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof ManifestError ? `error: ${error.message}` : error);
    process.exit(1);
  },
);
