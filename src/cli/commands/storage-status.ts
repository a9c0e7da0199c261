import { formatStatus, readStorageStatus } from "../../ops/status.ts";
import { parseOptions } from "../args.ts";
import type { Command } from "../command.ts";
import { clusterOptions, clusterOptionsOf, clusterUsage, connectTool, toolSettings } from "../tool.ts";

const usage = `usage: storage-conformance storage-status [options]
       (npm run storage-status -- [options], make storage-status ARGS="...")

The design's quick status check, read from the cluster: the claim (phase,
capacity, access modes, class), its volume (reclaim policy, path, node), the
StorageClass, the MySQL pod and its mount, and how much of the claim MySQL's
files take. A problem (claim not Bound, pod not Ready, usage over 90%) is a
failed check.

${clusterUsage}`;

export const storageStatus: Command = {
  name: "storage-status",
  summary: "the claim, its volume and class, the MySQL pod and its mount, usage",
  usage,
  async run(argv, io) {
    const values = parseOptions(argv, clusterOptions, "storage-status");
    if (values.help) {
      io.out(usage);
      return 0;
    }
    const options = clusterOptionsOf(values);
    io.format = options.format;
    const setup = await connectTool(options, toolSettings());
    const status = await readStorageStatus(setup);
    io.out(options.format === "json" ? JSON.stringify(status, null, 2) : formatStatus(status));
    return status.problems.length ? 1 : 0;
  },
};
