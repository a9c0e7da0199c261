// The design's backup layers as the reports show them: per method, the
// backup's size and duration, the restore's duration, and whether the
// restore was verified by checksums; a layer this run could not prove says why. Pure.
import type { CheckResult, RunResults } from "./results.ts";

export interface BackupRow {
  method: string;
  /** What the design calls it. */
  designSays: string;
  bytes?: number;
  backupS?: number;
  restoreS?: number;
  /** "verified by checksums", "FAILED: ...", or why it was not run. */
  outcome: string;
}

interface Layer {
  method: string;
  designSays: string;
  /** A value only this layer's check records: it finds the check. */
  marker: string;
  bytes?: string;
  backup: string[];
  restore: string[];
  /** Words of the check's name, to find it when it was skipped (and recorded nothing). */
  checkNamed: string;
  /** The engine this way is for, when the layer has one way per engine. */
  engine?: string;
}

/** Each layer the design names; a layer with several ways (one per engine) lists them, and the one the run took is shown. */
const layers: Layer[][] = [
  [
    {
      method: "mysqldump (backup-db / restore-db)",
      designSays: "Logical Backups: daily mysqldump exports",
      marker: "backup_s",
      bytes: "backup_bytes",
      backup: ["backup_s"],
      restore: ["restore_fresh_deployment_s"],
      checkNamed: "mysqldump",
    },
  ],
  [
    {
      method: "scheduled mysqldump (a Job from the CronJob)",
      designSays: "Automated Backup Rotation, daily",
      marker: "scheduled_backup_cronjobs",
      bytes: "scheduled_backup_bytes",
      backup: ["scheduled_backup_job_s"],
      restore: ["scheduled_backup_restore_s"],
      checkNamed: "cronjob",
    },
  ],
  [
    {
      method: "physical copy (MySQL's CLONE, streamed as a tar)",
      designSays: "Disaster Recovery",
      marker: "clone_s",
      bytes: "clone_bytes",
      backup: ["clone_s", "clone_transfer_s"],
      restore: ["clone_restore_unpack_s", "clone_restore_ready_s"],
      checkNamed: "physical",
      engine: "mysql",
    },
    {
      method: "physical copy (mariadb-backup, prepared, streamed as a tar)",
      designSays: "Disaster Recovery",
      marker: "mariabackup_s",
      bytes: "mariabackup_bytes",
      backup: ["mariabackup_s", "mariabackup_prepare_s", "mariabackup_transfer_s"],
      restore: ["mariabackup_restore_unpack_s", "mariabackup_restore_ready_s"],
      checkNamed: "physical",
      engine: "mariadb",
    },
  ],
  [
    {
      method: "volume snapshot (CSI VolumeSnapshot, restored through dataSource)",
      designSays: "Volume Snapshots: weekly filesystem-level backups",
      marker: "snapshot_cut_s",
      backup: ["snapshot_ready_s"],
      restore: ["snapshot_restore_s"],
      checkNamed: "volume snapshot",
    },
  ],
];

const num = (check: CheckResult | undefined, name: string) => {
  const v = check?.values[name]?.value;
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
};

const sum = (check: CheckResult | undefined, names: string[]) => {
  const parts = names.map((n) => num(check, n));
  return parts.every((p) => p !== undefined) ? +parts.reduce((a, b) => a! + b!, 0)!.toFixed(2) : undefined;
};

/** One row per backup layer the design names; undefined when the run had no backup check at all. */
export function backupRows(results: RunResults): BackupRow[] | undefined {
  const backupChecks = results.checks.filter((c) => c.suite === "backup");
  if (backupChecks.length === 0) return undefined;
  return layers.map((ways) => {
    const taken = ways.map((layer) => ({ layer, check: backupChecks.find((c) => c.values[layer.marker] !== undefined) })).find((w) => w.check);
    // Nothing recorded (skipped, or failed early): the way of the run's engine.
    const layer = taken?.layer ?? ways.find((w) => w.engine === results.engine?.name) ?? ways[0]!;
    const check = taken?.check ?? backupChecks.find((c) => c.status !== "passed" && c.name.toLowerCase().includes(layer.checkNamed));
    const outcome = !check
      ? "not run in this run"
      : check.status === "passed"
        ? num(check, layer.restore[0]!) !== undefined
          ? "restored and verified by checksums"
          : (check.notes?.[0] ?? "passed")
        : check.status === "failed"
          ? `FAILED: ${check.message.split("\n")[0]}`
          : `not run: ${check.message.split("\n")[0]}`;
    return {
      method: layer.method,
      designSays: layer.designSays,
      bytes: layer.bytes ? num(check, layer.bytes) : undefined,
      backupS: sum(check, layer.backup),
      restoreS: sum(check, layer.restore),
      outcome,
    };
  });
}
