import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeFsError } from "../../src/files.ts";
import { kustomizeReason, loadManifests, manifestLimits } from "../../src/manifests/load.ts";
import { removeTempDirs, tempDir } from "./support/fake-cluster.ts";

afterAll(removeTempDirs);

function dirWith(files: Record<string, string>): string {
  const dir = tempDir("sc-input-");
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
const configMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  k: v\n`;
const errorOf = (f: () => unknown): string => {
  try {
    f();
  } catch (error) {
    return (error as Error).message;
  }
  return "(no error)";
};

describe("files the loader cannot use are named, with the cause in words", () => {
  it("a symbolic link loop", () => {
    const dir = dirWith({});
    symlinkSync("loop.yaml", join(dir, "loop.yaml"));
    expect(errorOf(() => loadManifests(dir))).toMatch(/loop\.yaml is a symbolic link loop \(it resolves to itself\)$/);
  });
  it("a link to nothing, never 'does not exist' for a file that is listed", () => {
    const dir = dirWith({});
    symlinkSync("gone.yaml", join(dir, "claim.yaml"));
    expect(errorOf(() => loadManifests(dir))).toMatch(/claim\.yaml is a symbolic link to a path that does not exist$/);
  });
  it("a directory named *.yaml", () => {
    const dir = dirWith({});
    mkdirSync(join(dir, "extra.yaml"));
    expect(errorOf(() => loadManifests(dir))).toMatch(/extra\.yaml is a directory, not a file$/);
  });
  it("an unreadable file (permission denied; as root it cannot be produced, so the mapping is checked)", () => {
    expect(describeFsError(Object.assign(new Error("EACCES: permission denied, open 'x'"), { code: "EACCES" }), "/x")).toBe(
      "cannot be read: permission denied",
    );
    expect(describeFsError(Object.assign(new Error("weird"), { code: "EWEIRD" }), "/x")).toBe("cannot be read (EWEIRD)");
  });
  it("a binary file, without printing a byte of it", () => {
    const dir = dirWith({ "blob.yaml": "\u0000\u0001binary-secret-bytes" });
    const message = errorOf(() => loadManifests(dir));
    expect(message).toMatch(/blob\.yaml is not a text file \(it holds binary data\)$/);
    expect(message).not.toContain("binary-secret-bytes");
  });
});

describe("what kubectl applies, the loader reads", () => {
  it("a kind: List gives its items, each with its own line", () => {
    const dir = dirWith({
      "list.yaml": `apiVersion: v1\nkind: List\nitems:\n- ${configMap("a").trimEnd().replace(/\n/g, "\n  ")}\n- ${configMap("b").trimEnd().replace(/\n/g, "\n  ")}\n`,
    });
    expect(loadManifests(dir).map((o) => [o.object.kind, o.object.metadata.name, o.line])).toEqual([
      ["ConfigMap", "a", 4],
      ["ConfigMap", "b", 10],
    ]);
  });
  it(".json manifests are read, not skipped", () => {
    const dir = dirWith({
      "claim.json": JSON.stringify({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "mysql-pvc" }, spec: {} }, null, 2),
    });
    expect(loadManifests(dir).map((o) => `${o.file.replace(/^.*\//, "")}:${o.line} ${o.object.kind}/${o.object.metadata.name}`)).toEqual([
      "claim.json:1 PersistentVolumeClaim/mysql-pvc",
    ]);
  });
});

describe("input too large for a storage design is refused with one line, before it is parsed", () => {
  it("a 5 MiB directory of ConfigMaps (the 21 MB, 50,000-object case took 1 GB)", () => {
    const chunk = Array.from({ length: 1000 }, (_, i) => configMap(`cm-${i}`)).join("---\n");
    const dir = dirWith({});
    const files = Math.ceil((manifestLimits.bytes + 2 ** 20) / chunk.length / 4);
    for (let f = 0; f < files; f++) writeFileSync(join(dir, `part-${f}.yaml`), chunk.repeat(4));
    const before = process.memoryUsage().heapUsed;
    const message = errorOf(() => loadManifests(dir));
    expect(message).toMatch(/^manifest directory .* holds [\d.]+ MiB of manifests, over the limit of 4\.0 MiB; a storage design is a few objects/);
    expect(message.split("\n")).toHaveLength(1);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 2 ** 20);
  });
  it("more objects than the limit, in few bytes", () => {
    const dir = dirWith({
      "many.yaml": Array.from({ length: manifestLimits.objects + 1 }, (_, i) => `{apiVersion: v1, kind: ConfigMap, metadata: {name: c${i}}}`).join("\n---\n"),
    });
    expect(errorOf(() => loadManifests(dir))).toMatch(/holds more than 2000 objects \(the limit\)/);
  });
});

describe("a failing kustomization", () => {
  it("keeps kustomize's whole reason, every line, without klog's prefix", () => {
    const kubectl =
      "E1125 13:58:48.694294    7442 run.go:72] \"command failed\" err=\"accumulating resources: accumulation err='accumulating resources from 'missing.yaml': evalsymlink failure': must build at directory: not a valid directory\"\n";
    expect(kustomizeReason(kubectl)).toBe(
      "accumulating resources: accumulation err='accumulating resources from 'missing.yaml': evalsymlink failure': must build at directory: not a valid directory",
    );
    const kustomize =
      "Error: accumulating resources: accumulation err='accumulating resources from 'base': '/k/base' must resolve to a file':\nrecursed accumulation of path '/k/base': missing Resource metadata\n";
    expect(kustomizeReason(kustomize)).toBe(
      "accumulating resources: accumulation err='accumulating resources from 'base': '/k/base' must resolve to a file':\n  recursed accumulation of path '/k/base': missing Resource metadata",
    );
  });
});
