import type { V1CronJob, V1Job } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { cronJobsIn, jobFromCronJob, jobOutcome, manualJobName, reportedDump } from "../../src/conformance/scheduled-backup.ts";
import { findDatabaseWorkload } from "../../src/manifests/workload.ts";
import { loadManifests, type LoadedObject } from "../../src/manifests/load.ts";
import { validateSchema } from "../../src/manifests/schema.ts";
import { staticCheck } from "../../src/manifests/static-check.ts";

const fixture = "fixtures/scheduled-backup";
const options = { dataDir: "/var/lib/mysql", minStorage: "1Gi" };

/** The fixture's CronJob as the API server returns it once applied: with a namespace and a uid. */
function liveCronJob(): V1CronJob {
  const declared = cronJobsIn(loadManifests(fixture))[0]!.object;
  return {
    ...(structuredClone(declared) as unknown as V1CronJob),
    metadata: { ...(declared.metadata as object), namespace: "shop", uid: "6f1c2d3e-0000-4000-8000-000000000001" },
  };
}

describe("the scheduled-backup fixture: the design's manifests and a daily backup CronJob", () => {
  it("passes the schema and every storage rule; its one warning is the design's own (no NetworkPolicy)", () => {
    expect(
      staticCheck(fixture, options)
        .filter((f) => f.severity !== "info")
        .map((f) => `${f.rule} ${f.severity}`),
    ).toEqual(["network-policy warning"]);
  });
  it("MySQL's workload is still the Deployment, never the CronJob running the mysql image", () => {
    const workload = findDatabaseWorkload(loadManifests(fixture));
    expect([workload?.kind, workload?.name, workload?.claimName]).toEqual(["Deployment", "mysql", "mysql-pvc"]);
  });
  it("has one CronJob: daily at 02:00 UTC, Forbid, onto the backup claim, the password from the Secret", () => {
    const cronJobs = cronJobsIn(loadManifests(fixture));
    expect(cronJobs.map((c) => c.object.metadata.name)).toEqual(["mysql-backup"]);
    const spec = liveCronJob().spec!;
    expect([spec.schedule, spec.timeZone, spec.concurrencyPolicy]).toEqual(["0 2 * * *", "Etc/UTC", "Forbid"]);
    const pod = spec.jobTemplate.spec!.template.spec!;
    expect(pod.volumes).toEqual([{ name: "backups", persistentVolumeClaim: { claimName: "mysql-backup-pvc" } }]);
    expect(pod.containers[0]!.env![0]).toEqual({
      name: "MYSQL_ROOT_PASSWORD",
      valueFrom: { secretKeyRef: { name: "mysql-credentials", key: "root-password" } },
    });
    expect(pod.containers[0]!.command!.join(" ")).not.toMatch(/(?<![\w-])-p\S|--password/);
  });
  it("the design's own manifests hold no CronJob", () => {
    expect(cronJobsIn(loadManifests("manifests"))).toEqual([]);
  });
});

describe("a Job from the CronJob, as kubectl create job --from=cronjob/NAME makes it", () => {
  it("the jobTemplate's spec and labels, the manual annotation, the CronJob as controlling owner", () => {
    const cronJob = liveCronJob();
    const job = jobFromCronJob(cronJob, "mysql-backup-manual-1795000000");
    expect(job.metadata).toEqual({
      name: "mysql-backup-manual-1795000000",
      namespace: "shop",
      annotations: { "cronjob.kubernetes.io/instantiate": "manual" },
      labels: { app: "mysql-backup" },
      ownerReferences: [
        {
          apiVersion: "batch/v1",
          kind: "CronJob",
          name: "mysql-backup",
          uid: "6f1c2d3e-0000-4000-8000-000000000001",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    });
    expect(job.spec).toEqual(cronJob.spec!.jobTemplate.spec);
    expect(job.spec).not.toBe(cronJob.spec!.jobTemplate.spec);
  });
  it("is a valid batch/v1 Job by the Kubernetes schema", () => {
    const job = jobFromCronJob(liveCronJob(), "mysql-backup-manual-1795000000");
    const loaded = { object: job, file: "job", line: 1, lineOf: () => 1 } as unknown as LoadedObject;
    expect(validateSchema(loaded)).toEqual([]);
  });
  it("the template's own annotations win over kubectl's, as in kubectl", () => {
    const cronJob = liveCronJob();
    cronJob.spec!.jobTemplate.metadata = { annotations: { team: "db", "cronjob.kubernetes.io/instantiate": "template" } };
    expect(jobFromCronJob(cronJob, "j").metadata!.annotations).toEqual({ "cronjob.kubernetes.io/instantiate": "template", team: "db" });
    expect(jobFromCronJob(cronJob, "j").metadata!.labels).toBeUndefined();
  });
  it("a CronJob not read from the API server (no uid) is refused: the owner reference needs it", () => {
    const cronJob = liveCronJob();
    delete cronJob.metadata!.uid;
    expect(() => jobFromCronJob(cronJob, "j")).toThrow("CronJob mysql-backup has no uid: read it from the API server before making a Job of it");
  });
  it("names the Job <cronjob>-manual-<unix seconds>, within 63 characters", () => {
    expect(manualJobName("mysql-backup", new Date("2026-11-25T14:23:15Z"))).toBe("mysql-backup-manual-1795616595");
    const long = manualJobName("a".repeat(70), new Date("2026-11-25T14:23:15Z"));
    expect(long).toHaveLength(63);
    expect(long).toMatch(/-manual-1795616595$/);
  });
});

describe("how a Job's run is judged", () => {
  const job = (conditions: { type: string; status: string; reason?: string; message?: string }[], status: object = {}): V1Job => ({
    status: { conditions, ...status },
  });
  it("Complete, Failed with the controller's reason, or running with its counts", () => {
    expect(
      jobOutcome(
        job([
          { type: "SuccessCriteriaMet", status: "True" },
          { type: "Complete", status: "True" },
        ]),
      ),
    ).toEqual({ state: "complete" });
    expect(
      jobOutcome(job([{ type: "Failed", status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" }])),
    ).toEqual({
      state: "failed",
      reason: "BackoffLimitExceeded: Job has reached the specified backoff limit",
    });
    expect(jobOutcome(job([], { active: 1, failed: 1 }))).toEqual({ state: "running", describe: "active 1, succeeded 0, failed 1" });
  });
  it("the dump the fixture's script reports is read from its log", () => {
    const sha = "ab".repeat(32);
    expect(reportedDump(`backup /backups/20261125T020000Z.sql: 4242 bytes, sha256 ${sha}\nexpired 20261117T020000Z.sql (keeping the newest 7)\n`)).toEqual({
      file: "/backups/20261125T020000Z.sql",
      bytes: 4242,
      sha256: sha,
    });
    expect(reportedDump("mysqldump: Got error: 2005")).toBeUndefined();
  });
});
