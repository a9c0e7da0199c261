import { randomBytes } from "node:crypto";

/** A run's name: its UTC start to the second and six hex digits, e.g. 20261205T120000-a1b2c3 (as the cluster's start names one). */
export function newRunId(): string {
  return `${new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}-${randomBytes(3).toString("hex")}`;
}
