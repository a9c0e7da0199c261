/**
 * The disk usage of MySQL's data directory, and the thresholds at which the
 * operator commands warn (storage-status, storage-monitor) and the storage
 * suite expects them to: pure, shared by ops/ and conformance/.
 */

export interface FilesystemUsage {
  sizeBytes: number;
  availableBytes: number;
  usedPercent: number;
}

export interface DiskUsage {
  /** What MySQL's files take (du), in bytes. */
  usedBytes: number;
  /** The claim's capacity in bytes, when known. */
  claimBytes?: number;
  /** usedBytes against the claim's capacity. */
  percentOfClaim?: number;
  /** The filesystem under the mount (df): on local-path this is the node's disk, not the claim. */
  filesystem: FilesystemUsage;
}

/** `df -Pk DIR` output: the filesystem's size and free space in bytes. */
export function parseDf(output: string): FilesystemUsage {
  const line = output.trim().split("\n").at(-1) ?? "";
  const fields = line.trim().split(/\s+/);
  const [size, used, available] = [fields[1], fields[2], fields[3]].map(Number);
  if (fields.length < 6 || ![size, used, available].every((n) => Number.isFinite(n)))
    throw new Error(`unexpected df output: ${JSON.stringify(output.slice(0, 200))}`);
  return { sizeBytes: size! * 1024, availableBytes: available! * 1024, usedPercent: size ? +((100 * used!) / size!).toFixed(1) : 0 };
}

/** `du -sk DIR` output, in bytes. */
export function parseDu(output: string): number {
  const kib = Number(output.trim().split(/\s+/)[0]);
  if (!Number.isFinite(kib)) throw new Error(`unexpected du output: ${JSON.stringify(output.slice(0, 200))}`);
  return kib * 1024;
}

/**
 * Warning at 80 % used, critical (a problem) at 90 %: of the claim by MySQL's
 * files, and of the filesystem under the data directory. On a class that
 * enforces the claim's size the filesystem is the claim, and the filesystem's
 * figure is the one that reaches 100 % (its own metadata is not in du's).
 */
export const usageThresholds = { warnPercent: 80, criticalPercent: 90 } as const;

/** The thresholds `usage` crossed, in words: warnings, and problems (critical). */
export function usageAlerts(usage: DiskUsage, mountPath = "the data directory"): { warnings: string[]; problems: string[] } {
  const warnings: string[] = [];
  const problems: string[] = [];
  const { warnPercent, criticalPercent } = usageThresholds;
  const p = usage.percentOfClaim;
  if (p !== undefined) {
    if (p >= criticalPercent) problems.push(`MySQL's files take ${p}% of the claim (critical at ${criticalPercent}%)`);
    else if (p >= warnPercent) warnings.push(`MySQL's files take ${p}% of the claim (warning at ${warnPercent}%)`);
  }
  const fs = usage.filesystem.usedPercent;
  if (fs >= criticalPercent) problems.push(`the filesystem under ${mountPath} is ${fs}% full (critical at ${criticalPercent}%)`);
  else if (fs >= warnPercent) warnings.push(`the filesystem under ${mountPath} is ${fs}% full (warning at ${warnPercent}%)`);
  return { warnings, problems };
}
