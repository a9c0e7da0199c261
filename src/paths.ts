import { fileURLToPath } from "node:url";

/** The repository root, for files the suite ships (manifests/, images/, scripts/). */
export const projectRoot = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
