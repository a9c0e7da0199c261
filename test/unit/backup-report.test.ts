import { describe, expect, it } from "vitest";
import { backupRows } from "../../src/report/backups.ts";
import { renderHtml } from "../../src/report/html.ts";
import { renderMarkdown } from "../../src/report/markdown.ts";
import type { CheckResult, RunResults } from "../../src/report/results.ts";
import { runOf } from "./support/results.ts";

const v = (value: number | string) => ({ value, unit: "" });
const checks: CheckResult[] = [
  {
    suite: "backup",
    name: "a mysqldump backup of ecomdb > is complete, and restores the same rows",
    status: "passed",
    values: { backup_bytes: v(7_325_396), backup_s: v(1.2), restore_same_server_s: v(3.1), restore_fresh_deployment_s: v(3.4) },
    message: "",
    durationMs: 1,
  },
  {
    suite: "backup",
    name: "the design's daily backups (a CronJob in the manifests) > run in the cluster",
    status: "passed",
    values: { scheduled_backup_cronjobs: v(0) },
    message: "",
    durationMs: 1,
    notes: ['the design\'s automated daily backups are not in the manifests: it lists "daily mysqldump exports" | rotation'],
  },
  {
    suite: "backup",
    name: "a physical backup of the whole server (CLONE on MySQL, mariadb-backup on MariaDB) > copies the running server",
    status: "failed",
    values: {},
    message: "pod mysql-1 has no mariadb-backup: the database image must ship it\nmore",
    durationMs: 1,
  },
  {
    suite: "backup",
    name: "a volume snapshot of the data claim (the design's weekly filesystem-level backups) > is cut",
    status: "skipped",
    values: {},
    message: "the cluster serves no VolumeSnapshot API (snapshot.storage.k8s.io/v1)",
    durationMs: 1,
  },
];
const results: RunResults = runOf(checks, { engine: { name: "mariadb", serverVersions: [] } });

describe("the backup section", () => {
  it("gives each layer the design names its size, durations and outcome, or why it was not run", () => {
    expect(backupRows(results)).toEqual([
      {
        method: "mysqldump (backup-db / restore-db)",
        designSays: "Logical Backups: daily mysqldump exports",
        bytes: 7_325_396,
        backupS: 1.2,
        restoreS: 3.4,
        outcome: "restored and verified by checksums",
      },
      {
        method: "scheduled mysqldump (a Job from the CronJob)",
        designSays: "Automated Backup Rotation, daily",
        bytes: undefined,
        backupS: undefined,
        restoreS: undefined,
        outcome: checks[1]!.notes![0],
      },
      {
        method: "physical copy (mariadb-backup, prepared, streamed as a tar)",
        designSays: "Disaster Recovery",
        bytes: undefined,
        backupS: undefined,
        restoreS: undefined,
        outcome: "FAILED: pod mysql-1 has no mariadb-backup: the database image must ship it",
      },
      {
        method: "volume snapshot (CSI VolumeSnapshot, restored through dataSource)",
        designSays: "Volume Snapshots: weekly filesystem-level backups",
        bytes: undefined,
        backupS: undefined,
        restoreS: undefined,
        outcome: "not run: the cluster serves no VolumeSnapshot API (snapshot.storage.k8s.io/v1)",
      },
    ]);
    expect(backupRows({ ...results, checks: [] })).toBeUndefined();
  });

  it("shows the physical copy the engine took, and a snapshot's timings when the cluster could take one", () => {
    const mariadb: CheckResult = {
      suite: "backup",
      name: "a physical backup of the whole server (CLONE on MySQL, mariadb-backup on MariaDB) > copies the running server",
      status: "passed",
      values: {
        mariabackup_s: v(2.5),
        mariabackup_prepare_s: v(1.5),
        mariabackup_transfer_s: v(1),
        mariabackup_bytes: v(120_000_000),
        mariabackup_restore_unpack_s: v(4),
        mariabackup_restore_ready_s: v(3),
      },
      message: "",
      durationMs: 1,
    };
    const snapshot: CheckResult = {
      suite: "backup",
      name: "a volume snapshot of the data claim (the design's weekly filesystem-level backups) > is cut",
      status: "passed",
      values: { snapshot_cut_s: v(0.4), snapshot_ready_s: v(2.1), snapshot_restore_s: v(9.5) },
      message: "",
      durationMs: 1,
    };
    const rows = backupRows({ ...results, checks: [checks[0]!, mariadb, snapshot] })!;
    expect(rows[2]).toEqual({
      method: "physical copy (mariadb-backup, prepared, streamed as a tar)",
      designSays: "Disaster Recovery",
      bytes: 120_000_000,
      backupS: 5,
      restoreS: 7,
      outcome: "restored and verified by checksums",
    });
    expect(rows[3]).toMatchObject({ backupS: 2.1, restoreS: 9.5, outcome: "restored and verified by checksums" });
    expect(rows[1]!.outcome).toBe("not run in this run");
  });

  it("is in the HTML and the Markdown summary", async () => {
    const html = await renderHtml(results);
    expect(html).toContain("<h2>Backups: the design's layers</h2>");
    expect(html).toContain('<td>7.3 MB</td><td>1.2 s</td><td>3.4 s</td><td class="passed">restored and verified by checksums</td>');
    const md = renderMarkdown(results);
    expect(md).toContain(
      "| mysqldump (backup-db / restore-db) | Logical Backups: daily mysqldump exports | 7.3 MB | 1.2 s | 3.4 s | restored and verified by checksums |",
    );
    expect(md).toContain('"daily mysqldump exports" \\| rotation');
  });
});
