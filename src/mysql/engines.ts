/**
 * The database servers the design can be run on. `mysql` is the image the
 * manifests name (on the offline cluster: Oracle MySQL from Debian sid);
 * `mariadb` swaps only the database container's image for MariaDB of the
 * pinned line (the official `mariadb` image where images can be pulled, the
 * project's own build of Debian's MariaDB offline, under the same name).
 */
export const engineNames = ["mysql", "mariadb"] as const;
export type Engine = (typeof engineNames)[number];

/** `--engine mysql|mariadb|all` as the list of engines to run, in order. */
export function parseEngineOption(value: string | undefined): Engine[] {
  if (value === undefined || value === "mysql") return ["mysql"];
  if (value === "all") return [...engineNames];
  if ((engineNames as readonly string[]).includes(value)) return [value as Engine];
  throw new Error(`--engine ${value} is not one of ${engineNames.join(", ")} or all`);
}

/** The image the database container runs for `engine`, given the pinned versions (images/versions.env: `pinnedVersions()`); undefined means the manifests' own. */
export function engineImage(engine: Engine, versions: Record<string, string>): string | undefined {
  if (engine === "mysql") return undefined;
  const line = versions.MARIADB_LINE;
  if (!line) throw new Error("images/versions.env sets no MARIADB_LINE");
  return `mariadb:${line}`;
}

/** The server's own name for itself, from `SELECT VERSION()`: MariaDB says so, MySQL does not. */
export function engineOfVersion(version: string): Engine {
  return /mariadb/i.test(version) ? "mariadb" : "mysql";
}
