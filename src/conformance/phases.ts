// Recovery phases: pure arithmetic on the milestones recovery.ts measures.

/**
 * Seconds from the delete request to each phase's end, all on the client's
 * clock (the suite polls every 100 ms; Kubernetes timestamps have one-second
 * resolution, too coarse for these phases).
 */
export interface RecoveryPhases {
  /** The old pod is gone from the API (its mysqld has shut down and the volume is released). */
  oldPodGone_s: number;
  /** The replacement pod is bound to a node. */
  newPodScheduled_s: number;
  /** Its volume is mounted and the mysql container is running. */
  containerStarted_s: number;
  /** Its readiness probe passed: mysqld answers. */
  mysqldReady_s: number;
  /** A query through a new connection returned the same counts and checksums as before. */
  firstVerifiedQuery_s: number;
}

export const phaseNames: (keyof RecoveryPhases)[] = ["oldPodGone_s", "newPodScheduled_s", "containerStarted_s", "mysqldReady_s", "firstVerifiedQuery_s"];

/** Nearest-rank percentile of a sample. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * The recovery as consecutive segments: milestones in the order they happened,
 * each segment named by the milestone that ends it. A Deployment's ReplicaSet
 * replaces a deleted pod at once, so the new pod is usually scheduled and
 * started before the old one is gone; the milestones are not in declaration order.
 */
export function phaseDurations(phases: Partial<RecoveryPhases>): { phase: keyof RecoveryPhases; seconds: number }[] {
  const reached = phaseNames.filter((n) => typeof phases[n] === "number").sort((a, b) => phases[a]! - phases[b]! || phaseNames.indexOf(a) - phaseNames.indexOf(b));
  return reached.map((phase, i) => ({ phase, seconds: +(phases[phase]! - (i === 0 ? 0 : phases[reached[i - 1]!]!)).toFixed(2) }));
}

/**
 * Seconds during which the replacement's container ran while the old pod still
 * existed: both pods had the ReadWriteOnce volume mounted at once.
 */
export function overlapSeconds(phases: RecoveryPhases): number {
  return Math.max(0, +(phases.oldPodGone_s - phases.containerStarted_s).toFixed(2));
}

/** Throws when a recovery's total exceeds the budget, naming its slowest phase. */
export function assertWithinBudget(phases: RecoveryPhases, budgetMs: number, cycle: number): void {
  if (phases.firstVerifiedQuery_s * 1000 <= budgetMs) return;
  const slowest = phaseDurations(phases).map((d) => [d.phase, d.seconds] as const).reduce((a, b) => (b[1] > a[1] ? b : a));
  throw new Error(
    `recovery ${cycle} took ${phases.firstVerifiedQuery_s.toFixed(1)} s, over the ${budgetMs / 1000} s budget; slowest phase: ${slowest[0]} (${slowest[1].toFixed(1)} s). ` +
      `Milestones (s since the delete): ${phaseNames.map((n) => `${n}=${phases[n]}`).join(" ")}. Look at the readiness probe's delay and period, and the image's start time.`,
  );
}

/** Seconds from `start` to `end` (both performance.now(); `end` defaults to now), to the hundredth. */
export function secondsSince(start: number, end: number = performance.now()): number {
  return +((end - start) / 1000).toFixed(2);
}
