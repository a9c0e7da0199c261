import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

/**
 * Backup rotation for `backup-db --dir DIR --keep-daily N --keep-weekly M`:
 * dumps are named by the UTC time they were made, and which to keep is a
 * pure choice over those names. Files that do not match the naming (another
 * namespace's dumps, a renamed copy, anything else in DIR) are never touched.
 */

/** `20261125T142315Z`: the UTC time to the second, sortable as text. */
export function backupStamp(at: Date): string {
  return at
    .toISOString()
    .replace(/\.\d+Z$/, "Z")
    .replace(/[-:]/g, "");
}

/** `<namespace>-<YYYYMMDDTHHMMSSZ>.sql`; its record is the same name + `.json`. */
export function backupFileName(namespace: string, at: Date): string {
  return `${namespace}-${backupStamp(at)}.sql`;
}

export interface DatedDump {
  name: string;
  at: Date;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The dump a file name stands for, when it is one of `namespace`'s dumps as backup-db names them. */
export function parseBackupFileName(name: string, namespace: string): DatedDump | undefined {
  const match = new RegExp(`^${escapeRegExp(namespace)}-(\\d{4})(\\d{2})(\\d{2})T(\\d{2})(\\d{2})(\\d{2})Z\\.sql$`).exec(name);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const at = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // 20261340T… parses into another date: not a name backup-db wrote.
  if (backupStamp(at) !== match[0].slice(namespace.length + 1, -4)) return undefined;
  return { name, at };
}

/** The UTC day of a time: `2026-11-25`. */
export const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

/** The ISO 8601 week of a UTC time: `2026-W48` (weeks start on Monday; week 1 holds the year's first Thursday). */
export function isoWeek(at: Date): string {
  const day = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday); // the Thursday of this week decides its year
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, "0")}`;
}

export interface RetentionPolicy {
  keepDaily: number;
  keepWeekly: number;
  /** A dump that stays whatever its time says: the one just made (a dump dated in the future by a skewed clock must not expire it). */
  justMade?: string;
}

export interface RetentionChoice {
  /** Newest first, each with why it stays. */
  keep: { name: string; at: Date; reasons: string[] }[];
  /** Newest first. */
  expire: DatedDump[];
}

/**
 * Which dumps stay: the newest dump of each of the last `keepDaily` days that
 * have a dump, and the newest of each of the last `keepWeekly` ISO weeks that
 * have one (periods without a dump are not counted, as restic and borg count
 * them: a pause in backups never expires the older ones all at once). The
 * newest dump always stays, and so does `justMade`. Everything else expires.
 */
export function chooseRetention(dumps: DatedDump[], policy: RetentionPolicy): RetentionChoice {
  const newestFirst = [...dumps].sort((a, b) => b.at.getTime() - a.at.getTime() || b.name.localeCompare(a.name));
  const reasons = new Map<string, string[]>(newestFirst.map((d) => [d.name, []]));
  const keepNewestPer = (period: (at: Date) => string, count: number, label: string) => {
    const seen = new Set<string>();
    for (const dump of newestFirst) {
      const key = period(dump.at);
      if (seen.has(key)) continue;
      if (seen.size >= count) break;
      seen.add(key);
      reasons.get(dump.name)!.push(`${label} ${key}`);
    }
  };
  keepNewestPer(utcDay, policy.keepDaily, "daily");
  keepNewestPer(isoWeek, policy.keepWeekly, "weekly");
  if (newestFirst[0]) reasons.get(newestFirst[0].name)!.unshift("newest");
  if (policy.justMade) reasons.get(policy.justMade)?.unshift("just made");
  return {
    keep: newestFirst.filter((d) => reasons.get(d.name)!.length > 0).map((d) => ({ ...d, reasons: reasons.get(d.name)! })),
    expire: newestFirst.filter((d) => reasons.get(d.name)!.length === 0),
  };
}

/** `namespace`'s dumps in `dir`, by their names; everything else there is ignored. */
export function datedDumpsIn(dir: string, namespace: string): DatedDump[] {
  return readdirSync(dir).flatMap((name) => parseBackupFileName(name, namespace) ?? []);
}

/** Deletes an expired dump and its record; returns the paths deleted. */
export function removeDump(dir: string, name: string): string[] {
  const paths = [join(dir, name), join(dir, `${name}.json`)].filter((path) => existsSync(path));
  for (const path of paths) rmSync(path, { force: true });
  return paths;
}
