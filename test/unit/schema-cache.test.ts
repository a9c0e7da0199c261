import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ValidateFunction } from "ajv";
import { describe, expect, test } from "vitest";
import { loadManifests } from "../../src/manifests/load.ts";
import { validateSchema } from "../../src/manifests/schema.ts";

const require = createRequire(import.meta.url);
const cacheDir = join(dirname(require.resolve("ajv/package.json")), "..", ".cache", "storage-conformance");

describe("the compiled validators kept as code", () => {
  test("judge as the validator compiled in the process does", () => {
    const objects = loadManifests("fixtures/static/schema-errors");
    const fresh = objects.map((o) => validateSchema(o));
    const deployment = readdirSync(cacheDir).find((f) => f.endsWith("io.k8s.api.apps.v1.Deployment.cjs"));
    expect(deployment, `no compiled Deployment validator in ${cacheDir} after a validation`).toBeDefined();
    const cached = require(join(cacheDir, deployment!)) as ValidateFunction;
    const object = objects.find((o) => o.object.kind === "Deployment")!.object;
    expect(cached(object)).toBe(false);
    expect(cached.errors?.map((e) => `${e.instancePath} ${e.keyword}`)).toEqual(["/spec/replicas type"]);
    expect(
      fresh
        .flat()
        .map((p) => p.field)
        .sort(),
    ).toEqual(["spec.accessModes", "spec.replicas", "spec.storageClasName"]);
  });
});
