import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../src/paths.ts";

const documents = [
  "README.md",
  "src/README.md",
  ...readdirSync(join(projectRoot, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

describe("the documentation", () => {
  it("the README is a door: at most 150 lines", () => {
    expect(readFileSync(join(projectRoot, "README.md"), "utf8").trimEnd().split("\n").length).toBeLessThanOrEqual(150);
  });

  it("points at no file the repository lacks", () => {
    const missing = documents.flatMap((doc) => {
      const text = readFileSync(join(projectRoot, doc), "utf8");
      return [...text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)]
        .map((m) => m[1]!)
        .filter((target) => !/^[a-z]+:/.test(target))
        .filter((target) => !existsSync(join(projectRoot, dirname(doc), target)))
        .map((target) => `${doc} → ${target}`);
    });
    expect(missing).toEqual([]);
  });

  it("names no design document the repository lacks", () => {
    for (const doc of documents) expect(readFileSync(join(projectRoot, doc), "utf8"), doc).not.toContain("persistent-storage-design.md");
  });
});
