import { exitStatusHelp, type Command } from "../command.ts";
import { defaultReportsDir, parseRunOptions, suiteNames } from "../run-options.ts";
import { performanceValueNames } from "../../conformance/performance-values.ts";
import { runSettings, runStatic } from "./static.ts";

const usage = () => `usage: storage-conformance run [options]
       (npm run conformance -- [options], make conformance ARGS="...")

Runs the conformance suites against the storage manifests on a real cluster
and writes reports (results.json, junit.xml, summary.md, report.html) to
REPORTS/<run>/ and REPORTS/latest/.

  --manifests DIR    manifests under test (default: manifests/ here, or SC_MANIFESTS)
  --kubeconfig FILE  use this cluster (default: KUBECONFIG). Without either, a
                     k3s node is started in Docker and removed afterwards;
                     ~/.kube/config is never used on its own: the suite
                     creates and deletes namespaces, and must not land on
                     your current context unasked
  --reports DIR      where reports go (default: SC_REPORTS_DIR, else
                     ./${defaultReportsDir}); checked before the run
  --storage-class NAME
                     apply every claim with this StorageClass (the cluster's
                     own, e.g. local-path on k3s, gp3 on EKS) instead of the
                     manifests'; every report records it as a deviation
  --static-only      only the checks that need no cluster (schema, storage
                     rules): the same as storage-conformance static; takes
                     --output-format text|json|sarif and writes reports only
                     with --reports
  --engine ENGINE    mysql (default: the image the manifests name), mariadb
                     (only the database container's image becomes mariadb:<line>),
                     or all (one run per engine, reports side by side)
  --suite NAME[,NAME]  only these suites: ${suiteNames().join(", ")}
                     (nodes, the node failures, runs only when named: it starts
                     a cluster of three nodes and takes about 12 minutes)
  --disruptive       on a --kubeconfig cluster, let the nodes suite drain a
                     node (cordon, evict MySQL, uncordon; undone on failure
                     and Ctrl-C); a node loss never runs there
  --expect 'NAME<=N' a threshold on a value the performance suite measures
                     (repeatable; operators <= >= < > =), e.g.
                     --expect 'fio_fsync_p99_ms<=10': its last check fails,
                     saying which missed and by how much. The names are
                     checked before the run; they are:
${wrap(performanceValueNames.join(" "), 21)}
  --cleanup          delete the namespaces earlier runs left on the cluster
                     (--kubeconfig or KUBECONFIG), by label, listing each;
                     not while another run uses that cluster
  --output-format text
                     a live run prints text; its machine-readable output is
                     results.json and junit.xml under --reports
  -h, --help         this text

Ctrl-C (or SIGTERM) during a run on --kubeconfig deletes this run's namespaces
before exiting (130 or 143).

Environment: K3S_IMAGE (k3s image to run), SC_OFFLINE=1 (skip the pull, use the
offline image), SC_TIMEOUT_<NAME>_MS (deadlines, see src/timeouts.ts),
SC_PERF_PROFILE=short|long, SC_BENCH_IMAGE (an image with fio and sysbench a
--kubeconfig cluster can run), KEEP_NAMESPACES=1; every variable: docs/configuration.md.
Paths are relative to the directory you run the command in.

${exitStatusHelp}`;

/** `words` wrapped to 79 columns, indented by `indent`. */
function wrap(words: string, indent: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of words.split(" ")) {
    if (line && indent + line.length + 1 + word.length > 79) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => `${" ".repeat(indent)}${l}`).join("\n");
}

export const run: Command = {
  name: "run",
  summary: "the conformance run: the cluster suites on a real cluster, with reports",
  get usage() {
    return usage();
  },
  async run(argv, io) {
    // Help never depends on the environment being well-formed.
    if (argv.includes("--help") || argv.includes("-h")) {
      io.out(usage());
      return 0;
    }
    const settings = runSettings();
    const parsed = parseRunOptions(argv, settings);
    switch (parsed.kind) {
      case "help":
        io.out(usage());
        return 0;
      case "static":
        return runStatic(parsed.options, io, settings);
      // The live run's modules (the Kubernetes client, Docker, vitest) load only for a live run.
      case "cleanup":
        return (await import("../live-run.ts")).cleanup(parsed.kubeconfig, io);
      case "run":
        return (await import("../live-run.ts")).liveRun(parsed.options, settings, io);
    }
  },
};
