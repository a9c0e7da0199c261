import { describe, expect, test } from "vitest";
import { seedKey } from "../../src/conformance/seed.ts";
import { loadManifests, type LoadedObject } from "../../src/manifests/load.ts";

const design = (): LoadedObject[] => loadManifests("manifests");
const withEnv = (objects: LoadedObject[], mutate: (container: { env?: { name: string; value?: string }[]; args?: string[] }) => void) =>
  objects.map((o) => {
    if (o.object.kind !== "Deployment") return o;
    const object = structuredClone(o.object) as LoadedObject["object"] & { spec: { template: { spec: { containers: { env?: []; args?: string[] }[] } } } };
    mutate(object.spec.template.spec.containers[0]!);
    return { ...o, object };
  });

describe("a seed of a freshly initialised data directory", () => {
  test("fits a deployment of the same workload, with the same image, arguments, environment and secrets", () => {
    expect(seedKey(design())).toMatch(/^[0-9a-f]{16}$/);
    expect(seedKey(design())).toBe(seedKey(design()));
  });

  test("does not fit one whose initialisation would differ: other arguments, another environment, another secret", () => {
    const key = seedKey(design());
    expect(seedKey(withEnv(design(), (c) => (c.args = ["--innodb-flush-log-at-trx-commit=2"])))).not.toBe(key);
    expect(seedKey(withEnv(design(), (c) => c.env?.push({ name: "MYSQL_DATABASE", value: "other" })))).not.toBe(key);
    const otherSecret = design().map((o) =>
      o.object.kind === "Secret" ? { ...o, object: { ...o.object, stringData: { "mysql-root-password": "another" } } } : o,
    );
    expect(seedKey(otherSecret)).not.toBe(key);
  });

  test("is not taken for a workload whose data is on no claim", () => {
    expect(seedKey(loadManifests("fixtures/broken/emptydir-data"))).toBeUndefined();
  });
});
