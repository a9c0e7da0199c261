import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findDatabaseWorkload, rootPasswordSource } from "../../src/manifests/workload.ts";
import { loadManifests } from "../../src/manifests/load.ts";
import { secretValues } from "../../src/manifests/secrets.ts";

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "sc-manifests-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe("loadManifests", () => {
  it("loads the design's manifests with the file and line of each object", () => {
    const objects = loadManifests("manifests");
    const claim = objects.find((o) => o.object.kind === "PersistentVolumeClaim");
    expect(claim?.object.metadata.name).toBe("mysql-pvc");
    expect(claim?.file).toBe("manifests/mysql-pvc.yaml");
    expect(claim?.line).toBe(2);
  });

  it("keeps the line of each document of a multi-document file", () => {
    const dir = dirWith({ "all.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\n" });
    expect(loadManifests(dir).map((o) => [o.object.kind, o.line])).toEqual([
      ["Secret", 1],
      ["Service", 5],
    ]);
  });

  it("names the file, line and column of malformed YAML", () => {
    const dir = dirWith({ "bad.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: [unclosed\n" });
    expect(() => loadManifests(dir)).toThrow(/bad\.yaml:\d+:\d+: malformed YAML/);
  });

  it("says so when a document is not a Kubernetes object", () => {
    const dir = dirWith({ "x.yaml": "just: a map\n" });
    expect(() => loadManifests(dir)).toThrow(/x\.yaml:1: not a Kubernetes object \(apiVersion and kind are required\)/);
  });

  it("names a missing directory and an empty one", () => {
    expect(() => loadManifests("/nonexistent/manifests")).toThrow("manifest directory /nonexistent/manifests does not exist");
    expect(() => loadManifests(dirWith({}))).toThrow(/holds no \.yaml, \.yml or \.json file/);
  });
});

describe("the database workload", () => {
  it("is the Deployment mounting mysql-pvc at /var/lib/mysql, with root's password from a Secret", () => {
    const workload = findDatabaseWorkload(loadManifests("manifests"))!;
    expect([workload.kind, workload.name, workload.claimName, workload.dataMount?.mountPath]).toEqual(["Deployment", "mysql", "mysql-pvc", "/var/lib/mysql"]);
    expect(rootPasswordSource(workload)).toEqual({ secret: "mysql-credentials", key: "root-password" });
  });

  it("knows every secret value the manifests carry, for redaction", () => {
    expect(secretValues(loadManifests("manifests"))).toEqual(expect.arrayContaining(["conformance-root-pw", "conformance-user-pw"]));
  });
});
