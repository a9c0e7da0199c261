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
  /** A claim grown online until `df` in MySQL's pod shows the new size: the resizer, then the kubelet's NodeExpandVolume at its next sync of the pod (about a minute, its --sync-frequency). */
  volumeExpansionMs: 180_000,
  /** A claim filled until MySQL can no longer write (the storage suite's full disk). */
  diskFillMs: 300_000,
  imagePullMs: 30_000,
  /** One TCP connection to MySQL (through the port-forward) before it is retried. */
  mysqlConnectMs: 5_000,
  /** The operator commands' wait for MySQL's pod (never longer than podReadyMs): a command on a down server says so soon. */
  toolPodReadyMs: 30_000,
  /** A second pod mounting the data claim beside MySQL's (mounts), to run or be refused. */
  secondPodMs: 30_000,
  /** A namespace made by a check becoming usable for pods (its default ServiceAccount made). */
  namespaceReadyMs: 30_000,
  /** A NetworkPolicy taking effect for a new pod (the controller sees the pod and the policy, then writes its rules): how long a probe keeps trying. */
  policyEnforcedMs: 30_000,
  /** One TCP connection attempt from a probe pod to MySQL's Service (a dropped SYN waits this long). */
  tcpConnectMs: 3_000,
  /** A fio job beyond its runtime: laying out its files the first time. */
  fioSetupMs: 180_000,
  /** sysbench's prepare of its tables. */
  sysbenchPrepareMs: 180_000,
  /** A sysbench run beyond its measured time: connecting, warming, reporting. */
  sysbenchMarginMs: 120_000,
  /** Removing a check's files from a helper pod, afterwards. */
  cleanupMs: 30_000,
  /** A node lost with Kubernetes' defaults observed to the end: the 300 s default toleration, the node monitor's grace period, and room. */
  nodeLossObservationMs: 480_000,
  /** How long the nodes suite keeps a drained node cordoned once the scheduler has said MySQL's replacement cannot run elsewhere, before it uncordons it. */
  drainHoldMs: 10_000,
  /** An armed power cut waiting for a write of the redo or binary log (a commit in flight); past it the cut happens anyway, counted inconclusive. */
  powerCutArmMs: 5_000,
} as const;

/**
 * How often the waits poll, by the grain of what they watch: one place, so a
 * wait's grain is chosen here and not at each call. Not deadlines, so not
 * overridable: the recovery milestones' 100 ms is part of what the reports state.
 */
export const pollIntervals = {
  /** Recovery milestones on the client's clock (old pod gone, scheduled, started, Ready). */
  milestoneMs: 100,
  /** A pod's or container's state (the writer, a restarted MySQL, a helper pod). */
  podMs: 200,
  /** Any other wait (waitFor's default). */
  defaultMs: 250,
  /** The cluster's slower state: nodes, namespaces, a MySQL connection retried. */
  clusterMs: 500,
  /** A Job of minutes; the passes of the cleanup on Ctrl-C. */
  slowMs: 1_000,
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
