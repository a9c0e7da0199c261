/**
 * One table of deadlines for every wait in the suite. Each can be overridden
 * from the environment as SC_TIMEOUT_<NAME> in milliseconds (for example
 * SC_TIMEOUT_CLAIM_BOUND_MS=120000); an unknown SC_TIMEOUT_* name is an error,
 * so a typo never silently keeps the default.
 */
export const defaultTimeouts = {
  clusterStartMs: 240_000,
  apiReachableMs: 30_000,
  /** Any single request to the API server (list, read, apply, delete): a slow cluster is named, never waited on for undici's 300 s. */
  apiRequestMs: 30_000,
  claimBoundMs: 90_000,
  podReadyMs: 180_000,
  podDeletedMs: 90_000,
  mysqlReadyMs: 120_000,
  namespaceDeletedMs: 120_000,
  recoveryBudgetMs: 30_000,
  execMs: 120_000,
  /** One short query through the mysql client in the pod (storage-monitor's I/O counters, each sample). */
  mysqlQueryMs: 15_000,
  /** A Job made from the scheduled-backup CronJob: scheduled, its image started, the dump written and checked. */
  backupJobMs: 600_000,
  /** A VolumeSnapshot cut and ready to use (CSI drivers that upload it, as cloud disks do, take minutes). */
  snapshotReadyMs: 600_000,
  imagePullMs: 30_000,
} as const;

export type TimeoutName = keyof typeof defaultTimeouts;
export type Timeouts = Record<TimeoutName, number>;

export const timeoutEnvName = (name: string): string => `SC_TIMEOUT_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/** The table with the SC_TIMEOUT_* overrides of `env` applied; throws on an unknown name or a value that is not a positive number. */
export function loadTimeouts(env: Record<string, string | undefined>): { timeouts: Timeouts; overrides: string[] } {
  const timeouts: Timeouts = { ...defaultTimeouts };
  const overrides: string[] = [];
  const known = new Map(Object.keys(defaultTimeouts).map((k) => [timeoutEnvName(k), k as TimeoutName]));
  for (const [key, raw] of Object.entries(env)) {
    if (!key.startsWith("SC_TIMEOUT_") || raw === undefined) continue;
    const name = known.get(key);
    if (!name) throw new Error(`unknown timeout ${key}; known: ${[...known.keys()].join(", ")}`);
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${key}=${raw} is not a positive number of milliseconds`);
    timeouts[name] = value;
    overrides.push(`${key}=${value}`);
  }
  return { timeouts, overrides };
}

/**
 * The deadlines every wait uses. The defaults until the process's entry (the
 * conformance command, an operator command, the suites' support) fills it from
 * the run's settings (src/run/settings.ts, the one reader of the environment).
 */
export const timeouts: Timeouts = { ...defaultTimeouts };

/** Fills the table: called once per process, by `applyRunSettings`. */
export function useTimeouts(table: Timeouts): void {
  Object.assign(timeouts, table);
}
