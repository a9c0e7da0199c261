import { validateLive } from "../../src/conformance/schema-live.ts";
import { describe, expect, test } from "../support/test.ts";

describe("the manifests, against the live API server's schema", () => {
  test("every object passes a server-side dry-run apply with strict field validation", async ({ kube, namespace, manifests, record, note }) => {
    const { rejected, warnings } = await validateLive(kube, namespace, manifests);
    record("objects_validated", manifests.length, "objects");
    record("server_warnings", warnings.length, "warnings");
    for (const w of warnings) note(`the API server warned: ${w}`);
    expect(rejected, `the API server rejected ${rejected.length} of ${manifests.length} objects (fix the field it names):\n${rejected.join("\n")}`).toEqual([]);
  });
});
