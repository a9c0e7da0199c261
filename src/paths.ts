import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The suite's own root, for files it ships (manifests/, images/, scripts/,
 * suites/): the folder above src/, whether this file runs as TypeScript from
 * src/ or compiled into dist/src/ (the installed package, see package.json's
 * prepack), never the directory the command was run in.
 */
function suiteRoot(): string {
  const above = dirname(dirname(fileURLToPath(import.meta.url)));
  const compiled = basename(above) === "dist" && existsSync(join(dirname(above), "package.json"));
  return compiled ? dirname(above) : above;
}

export const projectRoot = suiteRoot();
