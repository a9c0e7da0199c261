import { describe, expect, it } from "vitest";
import { type LoadedObject, loadManifests } from "../../src/manifests/load.ts";
import { withStorageClass } from "../../src/manifests/storage-class.ts";
import { claimViews } from "../../src/manifests/views.ts";
import { loadedOnce, type ManifestsAsRun } from "../../suites/support/manifests-once.ts";

/** The suites' loader over the design's manifests, counting the loads. */
function counted() {
  const loads: ManifestsAsRun[] = [];
  const load = loadedOnce((which) => {
    loads.push(which);
    const objects = loadManifests(which.dir);
    return which.storageClass ? withStorageClass(objects, which.storageClass) : objects;
  });
  return { load, loads };
}

const claimClass = (objects: LoadedObject[]) => claimViews(objects)[0]?.spec.storageClassName;

describe("the manifests the cluster checks get", () => {
  it("are parsed once per directory, image and StorageClass", () => {
    const { load, loads } = counted();
    load({ dir: "manifests" });
    load({ dir: "manifests" });
    load({ dir: "manifests", image: "mariadb:11" });
    load({ dir: "manifests", storageClass: "gp3" });
    load({ dir: "manifests", storageClass: "gp3" });
    load({ dir: "fixtures/static/statefulset" });
    expect(loads).toEqual([
      { dir: "manifests" },
      { dir: "manifests", image: "mariadb:11" },
      { dir: "manifests", storageClass: "gp3" },
      { dir: "fixtures/static/statefulset" },
    ]);
  });

  it("are a copy for each check: one that edits its objects changes no other's", () => {
    const { load } = counted();
    const first = load({ dir: "manifests" });
    claimViews(first)[0]!.spec.storageClassName = "edited";
    first.pop();
    const second = load({ dir: "manifests" });
    expect(second).toHaveLength(4);
    expect(claimClass(second)).toBe("standard");
  });

  it("keep their files and lines", () => {
    const { load } = counted();
    const objects = load({ dir: "manifests", storageClass: "gp3" });
    expect(claimClass(objects)).toBe("gp3");
    expect(objects.map((o) => `${o.file}:${o.line} ${o.object.kind}`)).toEqual(loadManifests("manifests").map((o) => `${o.file}:${o.line} ${o.object.kind}`));
    expect(objects.find((o) => o.object.kind === "Deployment")?.lineOf(["spec", "replicas"])).toBe(9);
  });
});
