import { describe, expect, it } from "vitest";
import { backupRows } from "../../src/report/backups.ts";
import { renderHtml } from "../../src/report/html.ts";
import { renderMarkdown } from "../../src/report/markdown.ts";
import { summarise, type CheckResult, type RunResults } from "../../src/report/results.ts";

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
    name: "a physical backup of the whole server (MySQL's CLONE plugin) > clones the running server",
    status: "skipped",
    values: {},
    message: "MariaDB has no CLONE plugin",
    durationMs: 1,
  },
];
const results: RunResults = {
  runId: "r",
  startedAt: "2026-11-25T00:00:00.000Z",
  finishedAt: "2026-11-25T00:01:00.000Z",
  durationS: 60,
  manifestsDir: "manifests",
  timeoutOverrides: [],
  summary: summarise(checks),
  checks,
};

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
        method: "physical copy (MySQL's CLONE, streamed as a tar)",
        designSays: "Disaster Recovery",
        bytes: undefined,
        backupS: undefined,
        restoreS: undefined,
        outcome: "not run: MariaDB has no CLONE plugin",
      },
      {
        method: "volume snapshot",
        designSays: "Volume Snapshots: weekly filesystem-level backups",
        outcome: "not checked: the embedded cluster's local-path provisioner has no CSI snapshot support",
      },
    ]);
    expect(backupRows({ ...results, checks: [] })).toBeUndefined();
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
