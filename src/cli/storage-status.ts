import { formatStatus, readStorageStatus } from "../ops/status.ts";
import { commonUsage, connectTool, parseToolArgs, print, runTool } from "./tool.ts";

const usage = `usage: npm run storage-status -- [options]     (or: make storage-status)

The design's quick status check, read from the cluster: the claim (phase,
capacity, access modes, class), its volume (reclaim policy, path, node), the
StorageClass, the MySQL pod and its mount, and how much of the claim MySQL's
files take. Exits 1 when something is wrong (claim not Bound, pod not Ready,
usage over ${90}%), 2 on bad input.

${commonUsage}`;

runTool(async (settings) => {
  const args = parseToolArgs(process.argv.slice(2), {}, usage);
  if (args.help) {
    print(usage);
    return 0;
  }
  const setup = await connectTool(args, settings);
  const status = await readStorageStatus(setup);
  print(args.json ? JSON.stringify(status, null, 2) : formatStatus(status));
  return status.problems.length ? 1 : 0;
});
