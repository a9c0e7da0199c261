// The milestones of a recovery and the segments between them. Pure, imports
// nothing: recovery/ and conformance/ measure them and report/ charts them
// (the one file of recovery/ it reaches). The rest of the arithmetic (budget,
// overlap, percentiles) is in ./phases.ts.

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

/**
 * The recovery as consecutive segments: milestones in the order they happened,
 * each segment named by the milestone that ends it. A Deployment's ReplicaSet
 * replaces a deleted pod at once, so the new pod is usually scheduled and
 * started before the old one is gone; the milestones are not in declaration order.
 */
export function phaseDurations(phases: Partial<RecoveryPhases>): { phase: keyof RecoveryPhases; seconds: number }[] {
  const reached = phaseNames
    .filter((n) => typeof phases[n] === "number")
    .sort((a, b) => phases[a]! - phases[b]! || phaseNames.indexOf(a) - phaseNames.indexOf(b));
  return reached.map((phase, i) => ({ phase, seconds: +(phases[phase]! - (i === 0 ? 0 : phases[reached[i - 1]!]!)).toFixed(2) }));
}
