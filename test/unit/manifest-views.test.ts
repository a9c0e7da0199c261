import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadManifests } from "../../src/manifests/load.ts";
import { checkRules } from "../../src/manifests/rules.ts";
import { claimTemplateNamed, claimViews, workloadView, workloadViews } from "../../src/manifests/views.ts";
import { findDatabaseWorkload } from "../../src/manifests/workload.ts";

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "sc-views-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const statefulSet = (templates: string) =>
  dirWith({
    "sts.yaml": `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: mysql, image: "mysql:8.4"}]
  volumeClaimTemplates: ${templates}
`,
  });

describe("the workload's view", () => {
  it("reads the design's Deployment as a V1Deployment, its pod spec at hand, the loaded object itself (no copy)", () => {
    const objects = loadManifests("manifests");
    const deployment = objects.find((o) => o.object.kind === "Deployment")!;
    const view = workloadView(deployment)!;
    expect(view.kind).toBe("Deployment");
    expect(view.name).toBe("mysql");
    expect(view.object).toBe(deployment.object);
    if (view.kind !== "Deployment") throw new Error("narrowed by kind");
    expect([view.object.spec?.replicas, view.object.spec?.strategy?.type]).toEqual([1, "Recreate"]);
    expect(view.pod?.containers.map((c) => c.name)).toEqual(["mysql"]);
    expect(view.pod?.volumes?.[0]?.persistentVolumeClaim?.claimName).toBe("mysql-pvc");
  });

  it("is none for an object that is not a Deployment or a StatefulSet", () => {
    const objects = loadManifests("manifests");
    expect(objects.filter((o) => o.object.kind !== "Deployment").map(workloadView)).toEqual([undefined, undefined, undefined]);
    expect(workloadViews(objects).map((w) => `${w.kind}/${w.name}`)).toEqual(["Deployment/mysql"]);
  });

  it("reads a StatefulSet as a V1StatefulSet and finds its volumeClaimTemplates by name", () => {
    const [view] = workloadViews(loadManifests("fixtures/static/statefulset"));
    expect(view?.kind).toBe("StatefulSet");
    expect(claimTemplateNamed(view!, "mysql-storage")?.spec?.resources?.requests?.storage).toBe("1Gi");
    expect(claimTemplateNamed(view!, "other")).toBeUndefined();
  });

  it("is the one the database workload carries", () => {
    const objects = loadManifests("manifests");
    const workload = findDatabaseWorkload(objects)!;
    expect(workload.view.source).toBe(workload.source);
    expect(workload.container).toBe(workload.view.pod?.containers[0]);
  });

  it("has no pod spec when the manifest gives none", () => {
    const dir = dirWith({ "d.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: empty}\n" });
    const view = workloadView(loadManifests(dir)[0]!);
    expect([view?.kind, view?.pod]).toEqual(["Deployment", undefined]);
  });
});

describe("the claims' views", () => {
  it("are the PersistentVolumeClaims, found at their own lines", () => {
    const objects = loadManifests("manifests");
    const [claim, ...others] = claimViews(objects);
    expect(others).toEqual([]);
    expect(claim?.name).toBe("mysql-pvc");
    expect(claim?.templateOf).toBeUndefined();
    expect(claim?.at).toBe(objects.find((o) => o.object.kind === "PersistentVolumeClaim"));
    expect(claim?.spec.accessModes).toEqual(["ReadWriteOnce"]);
    expect(claim?.at.lineOf(["spec", "storageClassName"])).toBe(14);
  });

  it("include a StatefulSet's volumeClaimTemplates, at the template's lines in the StatefulSet's file", () => {
    const [claim, ...others] = claimViews(loadManifests("fixtures/static/statefulset"));
    expect(others).toEqual([]);
    expect([claim?.name, claim?.templateOf, claim?.at.file]).toEqual([
      "mysql-storage",
      "StatefulSet/mysql",
      "fixtures/static/statefulset/mysql-statefulset.yaml",
    ]);
    expect([claim?.at.line, claim?.at.lineOf(["spec", "accessModes"]), claim?.at.lineOf(["spec", "resources", "requests", "storage"])]).toEqual([70, 73, 77]);
  });

  it("skip a template without a name, and templates that are not a list", () => {
    expect(claimViews(loadManifests(statefulSet("[{spec: {}}, null, {metadata: {name: 5}}, {metadata: {name: data}}]"))).map((c) => c.name)).toEqual(["data"]);
    expect(claimViews(loadManifests(statefulSet("{data: {}}")))).toEqual([]);
  });

  it("read a claim without a spec as an empty spec: the rules report what it lacks", () => {
    const dir = dirWith({
      "pvc.yaml": "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: bare}\n",
      "sts.yaml": "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  volumeClaimTemplates: [{metadata: {name: data}}]\n",
    });
    expect(claimViews(loadManifests(dir)).map((c) => [c.name, c.spec])).toEqual([
      ["bare", {}],
      ["data", {}],
    ]);
    const bare = dirWith({
      "deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: mysql}
spec:
  template:
    spec:
      containers: [{name: mysql, image: "mysql:8.4", volumeMounts: [{name: data, mountPath: /var/lib/mysql}]}]
      volumes: [{name: data, persistentVolumeClaim: {claimName: bare}}]
`,
      "pvc.yaml": "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: bare}\n",
    });
    const findings = checkRules(loadManifests(bare), { dataDir: "/var/lib/mysql", minStorage: "1Gi" }).filter((f) => f.file.endsWith("pvc.yaml"));
    expect(findings.map((f) => `${f.rule} ${f.message}`)).toEqual([
      "claim-requests-storage PersistentVolumeClaim bare requests no storage",
      "single-writer-access-mode PersistentVolumeClaim bare declares no accessModes",
      "storage-class data claim bare names no StorageClass: the cluster's default class provisions it",
    ]);
  });
});
