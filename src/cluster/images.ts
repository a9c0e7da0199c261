import { readFileSync } from "node:fs";
import { execa } from "execa";
import { projectRoot } from "../paths.ts";
import { timeouts } from "../timeouts.ts";
import { imageExists, tryPull } from "./docker.ts";

/** The pinned versions of images/versions.env, the one place they are set. */
export function pinnedVersions(): Record<string, string> {
  const text = readFileSync(`${projectRoot}/images/versions.env`, "utf8");
  const versions: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) versions[match[1]!] = match[2]!;
  }
  return versions;
}

export interface ImageChoice {
  image: string;
  /** How it was chosen: named by K3S_IMAGE, the upstream k3s image, or the offline build. */
  source: "K3S_IMAGE" | "upstream" | "offline";
  /** Why, in one sentence, for the run banner. */
  reason: string;
  /** The offline node only: which server each database image name serves there. */
  engines?: string;
}

/** The image the run asks for (the settings' K3S_IMAGE and SC_OFFLINE=1). */
export interface ImageWanted {
  k3sImage?: string;
  offline: boolean;
}

/**
 * K3S_IMAGE when set; else the pinned upstream rancher/k3s image when it is
 * present or can be pulled; else the offline image, built here on demand.
 */
export async function chooseClusterImage(wanted: ImageWanted): Promise<ImageChoice> {
  if (wanted.k3sImage) return { image: wanted.k3sImage, source: "K3S_IMAGE", reason: "named by K3S_IMAGE" };
  const upstream = pinnedVersions().UPSTREAM_K3S_IMAGE!;
  if (!wanted.offline) {
    if (await imageExists(upstream)) return { image: upstream, source: "upstream", reason: `${upstream} is present locally` };
    const pulled = await tryPull(upstream, timeouts.imagePullMs);
    if (pulled.ok) return { image: upstream, source: "upstream", reason: `pulled ${upstream}` };
    const image = await buildOfflineImage();
    return { image, source: "offline", reason: `${upstream} could not be pulled (${pulled.reason}); built offline`, engines: await offlineEngines(image) };
  }
  const image = await buildOfflineImage();
  return { image, source: "offline", reason: "SC_OFFLINE=1", engines: await offlineEngines(image) };
}

/**
 * What the offline node serves under the database image names, from the
 * labels scripts/build-offline-image.sh puts on it. A node that had to fall
 * back to MariaDB for `mysql` says so here, and so in every report's header.
 */
export async function offlineEngines(image: string): Promise<string | undefined> {
  const result = await execa("docker", ["image", "inspect", "-f", "{{json .Config.Labels}}", image], { reject: false });
  if (result.exitCode !== 0) return undefined;
  return describeOfflineEngines(JSON.parse(result.stdout || "{}") as Record<string, string> | null, pinnedVersions());
}

export function describeOfflineEngines(labels: Record<string, string> | null, versions: Record<string, string>): string | undefined {
  const engine = labels?.["storage-conformance.mysql-engine"];
  if (!engine) return undefined;
  const mysql =
    engine === "mysql"
      ? `Oracle MySQL ${labels["storage-conformance.mysql-version"]} (Debian ${versions.MYSQL_DEBIAN_SUITE})`
      : `MariaDB ${labels["storage-conformance.mysql-version"]}, NOT MySQL: ${engine.replace(/^mariadb \(fallback: (.*)\)$/, "$1")}`;
  return `mysql:8.4 and mysql:${versions.MYSQL_LINE} serve ${mysql}; mariadb:${versions.MARIADB_LINE} serves MariaDB ${labels["storage-conformance.mariadb-version"]} (Debian ${versions.DEBIAN_SUITE})`;
}

/** Runs scripts/build-offline-image.sh (a no-op when cached) and returns the image name. */
export async function buildOfflineImage(): Promise<string> {
  const result = await execa("bash", [`${projectRoot}/scripts/build-offline-image.sh`], {
    stderr: "inherit",
    reject: false,
  });
  const image = result.stdout.trim().split("\n").pop() ?? "";
  if (result.exitCode !== 0 || !image.includes(":")) {
    throw new Error(
      `building the offline cluster image failed (exit ${result.exitCode}); run 'bash scripts/build-offline-image.sh' to see why, ` +
        "or set K3S_IMAGE to a k3s image you can pull, or KUBECONFIG to an existing cluster",
    );
  }
  return image;
}
