// Seconds on the client's clock, the one every measured duration uses. At the
// src root because every layer that measures (the deployed setup, recoveries,
// backups, the operator commands' tests) times something.

/** Seconds from `start` to `end` (both performance.now(); `end` defaults to now), to the hundredth. */
export function secondsSince(start: number, end: number = performance.now()): number {
  return +((end - start) / 1000).toFixed(2);
}
