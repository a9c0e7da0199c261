// A run's results as a conformance run of the design's manifests writes them
// (figures measured here, rounded), with one check failed and its folder: what
// the HTML report is tested with in a browser (test/unit/report-browser.test.ts),
// and what docs/report.png shows.
import { comparedValues } from "../../../src/conformance/performance.ts";
import type { CheckResult, RunResults } from "../../../src/report/results.ts";
import { runOf } from "./results.ts";

const s = (value: number) => ({ value, unit: "s" });
const text = (value: string) => ({ value, unit: "" });

/** Acknowledged commits per 100 ms at about 100 commits/s, silent for `gapBins` bins after the disruption at bin `at`. */
function acks(bins: number, at: number, gapBins: number): number[] {
  return Array.from({ length: bins }, (_, i) => (i >= at && i < at + gapBins ? 0 : 9 + ((i * 7) % 3)));
}

const survival: CheckResult = {
  suite: "survival",
  name: "the design's setup › keeps every committed row through 3 pod deletions, a rollout restart and a crash of mysqld",
  status: "passed",
  values: {
    replacement: text("pod deletion"),
    ...Object.fromEntries(
      [
        [1, 0.9, 1.2, 2.0, 5.1, 5.5],
        [2, 0.8, 1.1, 1.9, 4.9, 5.4],
        [3, 1.0, 1.3, 2.2, 5.3, 5.9],
      ].flatMap(([cycle, gone, scheduled, started, ready, verified]) => [
        [`cycle${cycle}_oldPodGone_s`, s(gone!)],
        [`cycle${cycle}_newPodScheduled_s`, s(scheduled!)],
        [`cycle${cycle}_containerStarted_s`, s(started!)],
        [`cycle${cycle}_mysqldReady_s`, s(ready!)],
        [`cycle${cycle}_firstVerifiedQuery_s`, s(verified!)],
      ]),
    ),
    recovery_p50_s: s(5.5),
    recovery_max_s: s(5.9),
    recovery_budget_s: s(30),
    ledger_acknowledged: { value: 1067, unit: "commits" },
    ledger_lost: { value: 0, unit: "commits" },
    write_gap_p50_s: s(5.6),
    server_version: text("9.7.4"),
  },
  message: "",
  durationMs: 68_000,
  timeline: {
    binS: 0.1,
    acks: acks(200, 40, 56),
    marks: [
      { label: "pod deletion 1", atS: 4.0 },
      { label: "writes resume 1", atS: 9.6 },
    ],
  },
  notes: ['"ReadWriteOnce prevents concurrent access" is not true: ReadWriteOnce limits a volume to one node; the replacement ran 1.4 s beside the old pod'],
};

const crash: CheckResult = {
  suite: "resilience",
  name: "mysqld › recovers from SIGKILL within the budget",
  status: "passed",
  values: { crash_recovery_s: s(3.3), crash_container_restarted_s: s(1.1), crash_mysqld_ready_s: s(2.9) },
  message: "",
  durationMs: 12_000,
  milestones: {
    disruption: "mysqld killed (SIGKILL from the node)",
    budgetS: 30,
    milestones: [
      { name: "container restarted", atS: 1.1 },
      { name: "mysqld ready", atS: 2.9 },
      { name: "first verified query", atS: 3.3, detail: "ecomdb checksums equal" },
    ],
  },
};

const backup: CheckResult = {
  suite: "backup",
  name: "a mysqldump backup of ecomdb › is complete, and restores the same rows",
  status: "passed",
  values: { backup_bytes: { value: 7_325_396, unit: "B" }, backup_s: s(1.2), restore_same_server_s: s(3.1), restore_fresh_deployment_s: s(9.4) },
  message: "",
  durationMs: 40_000,
};

const fio: CheckResult = {
  suite: "performance",
  name: "fio on a claim like the design's against a baseline",
  status: "passed",
  values: {
    fio_baseline: text("the node's disk outside any volume"),
    ...comparedValues("fio_randread_iops", "IOPS", [101_600, 99_000, 103_100], [97_890, 96_000, 99_500]),
    ...comparedValues("fio_randwrite_iops", "IOPS", [74_390, 72_000, 75_800], [74_770, 73_100, 76_000]),
    ...comparedValues("fio_seqwrite_mb_s", "MB/s", [1076, 1040, 1102], [1112, 1090, 1130]),
    ...comparedValues("fio_fsync_p99_ms", "ms", [0.2, 0.17, 0.34], [0.21, 0.18, 0.31]),
  },
  message: "",
  durationMs: 60_000,
};

const floor: CheckResult = {
  suite: "performance",
  name: "sysbench on the design's MySQL, and the recovery floor",
  status: "passed",
  values: { sysbench_tps: { value: 932, unit: "tx/s" }, recovery_floor_crash_s: s(1.76), recovery_floor_clean_s: s(2.79) },
  message: "",
  durationMs: 65_000,
};

const binding: CheckResult = {
  suite: "binding",
  name: "mysql-pvc › is Bound by dynamic provisioning within 90 s",
  status: "failed",
  values: { storage_class: text("fast-ssd") },
  message:
    'mysql-pvc stayed Pending for 90 s: StorageClass "fast-ssd" does not exist (classes: local-path, standard). Events: ProvisioningFailed storageclass.storage.k8s.io "fast-ssd" not found',
  durationMs: 90_500,
  diagnostics: "claims: mysql-pvc Pending (class fast-ssd)\npods: mysql-6d4cf56db6-x7k2p Pending (unbound immediate PersistentVolumeClaims)",
  diagnosticFiles: {
    "events.txt": '12:00:01 PersistentVolumeClaim/mysql-pvc ProvisioningFailed storageclass.storage.k8s.io "fast-ssd" not found\n',
    "objects.yaml": "kind: PersistentVolumeClaim\nmetadata:\n  name: mysql-pvc\nstatus:\n  phase: Pending\n",
    "logs/mysql-6d4cf56db6-x7k2p.mysql.log": "",
  },
};

const schema: CheckResult = {
  suite: "static",
  name: "manifests › schema",
  status: "passed",
  values: { errors: { value: 0, unit: "findings" } },
  message: "",
  durationMs: 0,
};

export function realisticRun(): RunResults {
  return runOf([schema, binding, survival, crash, backup, fio, floor], {
    runId: "20261205T120000-a1b2c3",
    startedAt: "2026-12-05T12:00:00.000Z",
    finishedAt: "2026-12-05T12:07:04.000Z",
    durationS: 424,
    cluster: { kind: "k3s", serverVersion: "v1.34.4", image: "rancher/k3s:v1.34.4-k3s1", imageReason: "the upstream image could be pulled" },
    engine: { name: "mysql", serverVersions: ["9.7.4"] },
  });
}
