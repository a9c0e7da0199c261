// Recovery phases: pure arithmetic on the milestones recovery.ts measures.
// Their names and segments are in ./milestones.ts, which report/ charts too.

import { phaseDurations, phaseNames, type RecoveryPhases } from "./milestones.ts";

/** Nearest-rank percentile of a sample. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Seconds during which the replacement's container ran while the old pod still
 * existed: both pods had the ReadWriteOnce volume mounted at once.
 */
export function overlapSeconds(phases: RecoveryPhases): number {
  return Math.max(0, +(phases.oldPodGone_s - phases.containerStarted_s).toFixed(2));
}

/** Undefined when a recovery's total is within the budget; else why it is not, naming its slowest phase (a spec expects it undefined). */
export function overBudget(phases: RecoveryPhases, budgetMs: number, cycle: number): string | undefined {
  if (phases.firstVerifiedQuery_s * 1000 <= budgetMs) return undefined;
  const slowest = phaseDurations(phases)
    .map((d) => [d.phase, d.seconds] as const)
    .reduce((a, b) => (b[1] > a[1] ? b : a));
  return (
    `recovery ${cycle} took ${phases.firstVerifiedQuery_s.toFixed(1)} s, over the ${budgetMs / 1000} s budget; slowest phase: ${slowest[0]} (${slowest[1].toFixed(1)} s). ` +
    `Milestones (s since the delete): ${phaseNames.map((n) => `${n}=${phases[n]}`).join(" ")}. Look at the readiness probe's delay and period, and the image's start time.`
  );
}
