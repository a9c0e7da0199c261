// How long the performance suite measures, and how its repeats are summed up.

export type PerfProfile = "short" | "long";

export interface ProfileSettings {
  /** Seconds each fio job runs. */
  fioRuntimeS: number;
  /** Runs of each fio job; the reported value is their median. */
  fioRepeats: number;
  /** Seconds each sysbench workload runs. */
  sysbenchTimeS: number;
  /** Runs of each sysbench workload. */
  sysbenchRepeats: number;
  /** Runs of the floor measurement. */
  floorRepeats: number;
}

/** short: the gate's ~45 s of measuring; long: the nightly's. */
export const perfProfiles: Record<PerfProfile, ProfileSettings> = {
  short: { fioRuntimeS: 1, fioRepeats: 3, sysbenchTimeS: 3, sysbenchRepeats: 3, floorRepeats: 3 },
  long: { fioRuntimeS: 10, fioRepeats: 5, sysbenchTimeS: 30, sysbenchRepeats: 3, floorRepeats: 5 },
};

/** SC_PERF_PROFILE as a profile: unset or empty is short; anything but short or long is an error, so a typo never measures the wrong way. */
export function perfProfile(value: string | undefined): PerfProfile {
  if (value === undefined || value === "") return "short";
  if (value === "short" || value === "long") return value;
  throw new Error(`SC_PERF_PROFILE=${value} is not short or long (short: the gate's ~45 s of measuring, long: the nightly's)`);
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Median, min and max of repeated measurements; the median of an even count is the mean of the two middle values. */
export function spread(values: number[]): Spread {
  if (values.length === 0) throw new Error("spread of no values: a measurement that was repeated 0 times");
  const odd = values.find((v) => !Number.isFinite(v));
  if (odd !== undefined) throw new Error(`spread of [${values.join(", ")}]: ${odd} is not a finite number`);
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, n: sorted.length };
}
