import { describe, expect, it } from "vitest";
import { perfProfile, perfProfiles, spread } from "../../src/conformance/perf-profile.ts";

describe("the performance profile", () => {
  it("is short when SC_PERF_PROFILE is unset or empty, and rejects a typo", () => {
    expect(perfProfile(undefined)).toBe("short");
    expect(perfProfile("")).toBe("short");
    expect(perfProfile("long")).toBe("long");
    expect(() => perfProfile("nightly")).toThrow("SC_PERF_PROFILE=nightly is not short or long (short: the gate's ~45 s of measuring, long: the nightly's)");
  });

  it("measures 1 s fio runs 3 times in the gate and 10 s runs 5 times at night", () => {
    expect(perfProfiles.short).toEqual({ fioRuntimeS: 1, fioRepeats: 3, sysbenchTimeS: 3, sysbenchRepeats: 3, floorRepeats: 3 });
    expect(perfProfiles.long).toEqual({ fioRuntimeS: 10, fioRepeats: 5, sysbenchTimeS: 30, sysbenchRepeats: 3, floorRepeats: 5 });
  });
});

describe("the spread of repeated measurements", () => {
  it("is the middle value of an odd count, whatever the order", () => {
    expect(spread([3.1, 0.37, 1.2])).toEqual({ median: 1.2, min: 0.37, max: 3.1, n: 3 });
  });

  it("is the mean of the two middle values of an even count", () => {
    expect(spread([291.1, 196.34, 280, 201])).toEqual({ median: 240.5, min: 196.34, max: 291.1, n: 4 });
  });

  it("refuses no values and values that are not finite", () => {
    expect(() => spread([])).toThrow("spread of no values");
    expect(() => spread([1, NaN, 2])).toThrow("spread of [1, NaN, 2]: NaN is not a finite number");
    expect(() => spread([Infinity])).toThrow("Infinity is not a finite number");
  });
});
