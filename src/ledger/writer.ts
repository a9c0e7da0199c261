import type { V1Pod } from "@kubernetes/client-node";
import { projectImages } from "../cluster/project-images.ts";
import { describeApiError } from "../kube/client.ts";
import { collectDiagnostics } from "../kube/diagnostics.ts";
import { execInPod } from "../kube/exec.ts";
import { waitFor } from "../kube/wait.ts";
import { isPodRunning } from "../kube/waits.ts";
import type { ManifestObject } from "../manifests/load.ts";
import { ledgerDatabase, ledgerTableExists, readDurabilitySettings, readLedgerRows, type LedgerRow } from "./table.ts";
import { pollIntervals, timeouts } from "../timeouts.ts";
import type { DeployedSetup } from "../design/deployment.ts";
import { durabilityRisks, type DurabilityRisk } from "./durability.ts";
import type { AckTimeline } from "../timelines.ts";
import {
  ackTimesMs,
  binAcks,
  concurrentServers,
  describeViolations,
  ledgerFigures,
  parseWriterLog,
  verifyLedger,
  writeGap,
  writeGapFigures,
  type Disruption,
  type LedgerVerdict,
  type WriterLog,
} from "./analysis.ts";
import { nameOf } from "../kube/names.ts";
import { collectLedgerEvidence, type LedgerEvidence } from "./evidence.ts";
import { join } from "node:path";
import { applicationLabels } from "../labels.ts";

/** How the writer runs: the run's pace (RunSettings.ledger: about 100 commits/s over 4 connections), on a node of its own when asked. */
export interface WriterOptions {
  connections: number;
  ratePerS: number;
  /** The node the writer runs on (a node other than MySQL's, when that node is to fail). */
  nodeName?: string;
  /** Where a red ledger's data-directory tarball is written (under a folder named after the writer's run). */
  evidenceDir?: string;
}

/** What the writer and the table said once the writer stopped. */
export interface LedgerOutcome {
  run: string;
  log: WriterLog;
  verdict: LedgerVerdict;
  /** The server's durability settings (SHOW GLOBAL VARIABLES), and what they risk. */
  settings: Record<string, string>;
  risks: DurabilityRisk[];
  rows: LedgerRow[];
  /** Gathered when the verdict has a violation, before anything is deleted (collectLedgerEvidence). */
  evidence?: LedgerEvidence;
  /** The ledger's table (or its database) no longer exists: the whole ledger was lost. */
  tableGone?: boolean;
}

/**
 * The Service the design gives MySQL: the one whose selector matches the
 * workload's pod labels. The writer reaches MySQL by its name, as an
 * application in the cluster does (cluster DNS).
 */
export function mysqlService(setup: DeployedSetup): { name: string; port: number } {
  const labels = setup.workload.selector;
  const service = setup.objects
    .map((o) => o.object)
    .find((o: ManifestObject) => {
      if (o.kind !== "Service") return false;
      const selector = (o.spec as { selector?: Record<string, string> } | undefined)?.selector ?? {};
      return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
    });
  if (!service)
    throw new Error(
      `no Service in the manifests selects ${setup.workload.kind}/${setup.workload.name}'s pods (${setup.selector}); the writer reaches MySQL through the design's Service`,
    );
  const port = (service.spec as { ports?: { port: number }[] }).ports?.[0]?.port ?? 3306;
  return { name: service.metadata.name, port };
}

/**
 * Whether the writer's last lines say its commits fail because the ledger's
 * database or table is not there ("unknown database", "no such table"). The
 * writer creates the table once, at its start, so a table gone after a
 * disruption never comes back. Its own retries while it creates the table
 * ("creating the ledger table: ...") are not that: on a fresh server the first
 * CREATE DATABASE can fail and the retry make it (seen on conformance-csi,
 * 2026-12-06, where the first poll read only that line and gave up).
 */
export function ledgerTableGone(logText: string): boolean {
  const last = logText
    .split("\n")
    .filter((line) => line.trim() !== "")
    .slice(-8);
  return last.some((line) => /Error (1049|1146) /.test(line) && !line.includes("creating the ledger table"));
}

/** A pod name from a run's name: lower case, [a-z0-9-] only, at most 63 characters. */
export function podNameFor(run: string): string {
  return `ledger-writer-${run}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .slice(0, 63)
    .replace(/-+$/, "");
}

/** The writer's pod: the project's image (never pulled), the root password from the design's own Secret. */
export function writerPod(setup: DeployedSetup, run: string, options: WriterOptions): V1Pod {
  const service = mysqlService(setup);
  const password = setup.rootPasswordEnv("LEDGER_PASSWORD");
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: podNameFor(run),
      namespace: setup.namespace,
      labels: { ...applicationLabels, "storage-conformance/ledger-run": run },
    },
    spec: {
      restartPolicy: "Never",
      ...(options.nodeName ? { nodeName: options.nodeName } : {}),
      terminationGracePeriodSeconds: 10,
      containers: [
        {
          name: "writer",
          image: projectImages().writer,
          imagePullPolicy: "IfNotPresent",
          args: [
            "-host",
            service.name,
            "-port",
            String(service.port),
            "-database",
            ledgerDatabase,
            "-run",
            run,
            "-connections",
            String(options.connections),
            "-rate",
            String(options.ratePerS),
          ],
          env: [password],
          resources: { requests: { cpu: "50m", memory: "16Mi" } },
        },
      ],
    },
  };
}

/**
 * A ledger writer running against the setup's MySQL through its Service, from
 * a pod: started, then stopped (it finishes the commit in flight and writes
 * its stop line), its log read and the table verified against it.
 */
export class LedgerWriter {
  private readonly setup: DeployedSetup;
  readonly run: string;
  readonly podName: string;

  private readonly options: WriterOptions;

  private constructor(setup: DeployedSetup, run: string, podName: string, options: WriterOptions) {
    this.setup = setup;
    this.run = run;
    this.podName = podName;
    this.options = options;
  }

  /** Starts the writer and waits until it has acknowledged its first commits. */
  static async start(setup: DeployedSetup, run: string, options: WriterOptions): Promise<LedgerWriter> {
    const pod = writerPod(setup, run, options);
    try {
      await setup.kube.core.createNamespacedPod({ namespace: setup.namespace, body: pod });
    } catch (error) {
      throw new Error(`creating the ledger writer's pod failed: ${describeApiError(error)}`);
    }
    const writer = new LedgerWriter(setup, run, nameOf(pod), options);
    await writer.settle();
    return writer;
  }

  /**
   * Waits until the writer has acknowledged a second's worth of commits (at
   * its rate) since now: writes are flowing again after a disruption (so the
   * write gap is measured to a real first commit), and the next disruption
   * meets a writer in its steady state, not one still reconnecting.
   */
  async settle(): Promise<void> {
    await this.waitForAcks(Math.max(this.options.connections, this.options.ratePerS || 100), Date.now());
  }

  /** Deletes the writer's pod (after a failure, or once verified); a pod already gone is fine. */
  async remove(): Promise<void> {
    await this.setup.kube.core.deleteNamespacedPod({ name: this.podName, namespace: this.setup.namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
  }

  /** The writer's log so far (or all of it once stopped); with `sinceMs`, from a second before then on. */
  async logText(sinceMs?: number): Promise<string> {
    const sinceSeconds = sinceMs === undefined ? undefined : Math.max(1, Math.ceil((Date.now() - sinceMs) / 1000) + 1);
    return this.setup.kube.core.readNamespacedPodLog({ name: this.podName, namespace: this.setup.namespace, container: "writer", sinceSeconds });
  }

  private async waitForAcks(count: number, sinceMs: number): Promise<void> {
    const { kube, namespace } = this.setup;
    await waitFor(
      async () => {
        const pod = await kube.core.readNamespacedPod({ name: this.podName, namespace });
        const text = isPodRunning(pod) ? await this.logText(sinceMs) : "";
        const acks = parseWriterLog(text).commits.filter((c) => c.state === "ack" && c.tDoneMs >= sinceMs).length;
        return { pod, acks, gone: acks === 0 && ledgerTableGone(text) };
      },
      (seen) => seen.acks >= count,
      {
        what: `the ledger writer ${this.podName} to acknowledge ${count} commits through the Service`,
        signal: kube.signal,
        timeoutMs: timeouts.podReadyMs,
        intervalMs: pollIntervals.defaultMs,
        deadEnd: (seen) => {
          if (seen.gone)
            return `the ledger's database or table is gone (the writer's commits fail with "unknown database" or "no such table"): every commit it held was lost`;
          const state = seen.pod.status?.containerStatuses?.[0]?.state;
          if (state?.terminated)
            return `the writer exited (${state.terminated.reason ?? ""} ${state.terminated.exitCode}): ${state.terminated.message ?? "see its log"}`;
          const waiting = state?.waiting?.reason;
          return waiting && /ErrImage|ImagePull|InvalidImageName/.test(waiting)
            ? `the writer's image cannot be found on the node (${waiting}): the offline node bakes it in; a pulled k3s image needs it imported`
            : undefined;
        },
        describe: (seen) => `pod ${seen.pod.status?.phase}, ${seen.acks} commits acknowledged`,
        diagnose: async () => (await collectDiagnostics(kube, namespace)).summary,
      },
    );
  }

  /**
   * Stops the writer (`ledger-writer stop` in its container), waits for it to
   * exit, and verifies the table against its log. The verdict's violations
   * are for the caller to assert.
   */
  async stopAndVerify(): Promise<LedgerOutcome> {
    const { kube, namespace } = this.setup;
    const stopped = await execInPod(kube, { namespace, pod: this.podName, container: "writer" }, ["/ledger-writer", "stop"], { timeoutMs: timeouts.execMs });
    // 137: the writer (the container's pid 1) ended before this exec returned, and the runtime
    // killed the exec with the container (seen once in 20 cycles on MariaDB): the stop worked,
    // which the wait for the pod's exit below confirms, and the log's stop line is checked after.
    if (stopped.exitCode !== 0 && stopped.exitCode !== 137)
      throw new Error(`stopping the ledger writer failed (exit ${stopped.exitCode}): ${stopped.stderr.trim()}`);
    await waitFor(
      () => kube.core.readNamespacedPod({ name: this.podName, namespace }),
      (pod) => pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed",
      {
        what: `the ledger writer ${this.podName} to exit after its stop`,
        signal: kube.signal,
        timeoutMs: timeouts.podDeletedMs,
        intervalMs: pollIntervals.podMs,
        describe: (pod) => `pod ${pod.status?.phase}`,
      },
    );
    const log = parseWriterLog(await this.logText());
    let outcome: LedgerOutcome;
    const db = await this.setup.open();
    try {
      const rows = await readLedgerRows(db.connection, this.run);
      const settings = await readDurabilitySettings(db.connection);
      const tableGone = !(await ledgerTableExists(db.connection));
      outcome = { run: this.run, log, rows, verdict: verifyLedger(log, rows, this.run), settings, risks: durabilityRisks(settings), tableGone };
    } finally {
      await db.close();
    }
    if (outcome.verdict.violations > 0) {
      const dir = this.options.evidenceDir ? join(this.options.evidenceDir, this.run) : undefined;
      outcome.evidence = await collectLedgerEvidence(this.setup, this.run, outcome.verdict, dir);
    }
    return outcome;
  }
}

/** Disruptions as the verifier names them, from the moments the suite recorded (Unix ms). */
export function disruptionsOf(kind: string, momentsMs: number[]): Disruption[] {
  return momentsMs.map((tMs, i) => ({ name: `${kind} ${i + 1}`, tMs }));
}

/** What a check records and says about a ledger run across its disruptions. */
export interface LedgerSummary {
  /** Values named as in results.json: ledger_*, cycleN_write_gap_s, write_gap_p50/p95/max_s, durability_*. */
  values: Record<string, { value: number | string; unit: string }>;
  /** Findings worth reading that are not failures (two servers acknowledging at once). */
  notes: string[];
  /** The failure message when any acknowledged commit was lost, or a row is phantom, duplicated or corrupted; empty otherwise. */
  violations: string;
  gapsS: number[];
  /** Acknowledged commits per 100 ms, with the disruptions and the first acknowledgement after each marked. */
  timeline: AckTimeline;
  /** A red ledger's evidence files, for the check's failure folder. */
  evidenceFiles?: Record<string, string>;
}

/**
 * `powerLoss`: the disruptions cut power (the lazy layer dropped what was not
 * synced), so a loss under durable settings is laid at the storage's door.
 */
export function summarizeLedger(outcome: LedgerOutcome, disruptions: Disruption[], options: { powerLoss?: boolean } = {}): LedgerSummary {
  const values: LedgerSummary["values"] = {};
  for (const [name, value] of Object.entries(ledgerFigures(outcome.verdict))) values[name] = { value, unit: "commits" };
  const gaps = disruptions.map((d, i) => writeGap(outcome.log.commits, d.tMs, Math.min(d.untilMs ?? Infinity, disruptions[i + 1]?.tMs ?? Infinity)));
  gaps.forEach((g, i) => {
    values[`cycle${i + 1}_write_gap_s`] = { value: g.writeGapS, unit: "s" };
  });
  const gapsS = gaps.map((g) => g.writeGapS);
  if (gaps.length) {
    for (const [name, value] of Object.entries(writeGapFigures(gapsS))) values[name] = { value, unit: "s" };
    const mean = (xs: number[]) => {
      const finite = xs.filter(Number.isFinite);
      return +(finite.reduce((a, b) => a + b, 0) / Math.max(1, finite.length)).toFixed(1);
    };
    values.commits_per_s_before = { value: mean(gaps.map((g) => g.ackRateBeforePerS)), unit: "commits/s" };
    values.commits_per_s_after = { value: mean(gaps.map((g) => g.ackRateAfterPerS)), unit: "commits/s" };
  }
  for (const [name, value] of Object.entries(outcome.settings)) values[`durability_${name}`] = { value, unit: "" };
  const servers = concurrentServers(outcome.log.commits, outcome.rows);
  values.ledger_servers = { value: servers.servers.length, unit: "servers" };
  const notes = servers.overlaps.map(
    (o) =>
      `two mysqld acknowledged commits at the same time on one volume: ${o.a} and ${o.b} overlapped for ${o.overlapS} s (ReadWriteOnce let the replacement start beside the old pod)`,
  );
  // Sorted: the first and last acknowledgement bound the chart (no spread over thousands of values).
  const acked = ackTimesMs(outcome.log.commits);
  const moments = disruptions.map((d) => d.tMs);
  const fromMs = Math.min(acked[0] ?? Infinity, ...moments);
  const toMs = Math.max(acked.at(-1) ?? -Infinity, ...moments) + 1;
  const binMs = 100;
  const timeline: AckTimeline = {
    binS: binMs / 1000,
    acks: binAcks(outcome.log.commits, fromMs, toMs, binMs).map((b) => b.acks),
    marks: [
      ...disruptions.map((d) => ({ label: d.name, atS: +((d.tMs - fromMs) / 1000).toFixed(2) })),
      ...gaps.flatMap((g, i) => (g.firstAckAfterGapMs ? [{ label: `writes resume ${i + 1}`, atS: +((g.firstAckAfterGapMs - fromMs) / 1000).toFixed(2) }] : [])),
    ],
  };
  const violations = describeViolations(outcome.verdict, disruptions, 5, outcome.risks, { settings: outcome.settings, powerLoss: options.powerLoss ?? false });
  const evidence = outcome.evidence
    ? `\nEvidence (the rows read again through each index, CHECK TABLE, the server's logs, the data directory) is in the check's failure folder${outcome.evidence.tarball ? `; the data directory's tarball: ${outcome.evidence.tarball}` : ""}.`
    : "";
  return {
    values,
    notes,
    violations:
      violations &&
      (outcome.tableGone ? `The ledger's table is gone: the server lost the database the writer created, with every commit in it.\n` : "") +
        violations +
        evidence,
    gapsS,
    timeline,
    ...(outcome.evidence ? { evidenceFiles: outcome.evidence.files } : {}),
  };
}
