/** One sample of storage-monitor. */
export interface UsageSample {
  at: number;
  usedBytes?: number;
}

/**
 * Growth in bytes per minute by least squares over the samples that have a
 * usage figure; undefined with fewer than two such samples or no time between them.
 */
export function growthBytesPerMinute(samples: UsageSample[]): number | undefined {
  const points = samples.filter((s): s is Required<UsageSample> => typeof s.usedBytes === "number");
  if (points.length < 2) return undefined;
  const n = points.length;
  const meanT = points.reduce((a, p) => a + p.at, 0) / n;
  const meanU = points.reduce((a, p) => a + p.usedBytes, 0) / n;
  const sxx = points.reduce((a, p) => a + (p.at - meanT) ** 2, 0);
  if (sxx === 0) return undefined;
  const sxy = points.reduce((a, p) => a + (p.at - meanT) * (p.usedBytes - meanU), 0);
  return (sxy / sxx) * 60_000;
}

/** Minutes until `capacity` is reached at `perMinute`; undefined when usage is not growing. */
export function minutesUntilFull(usedBytes: number, capacityBytes: number, perMinute: number | undefined): number | undefined {
  if (perMinute === undefined || perMinute <= 0) return undefined;
  return Math.max(0, (capacityBytes - usedBytes) / perMinute);
}
