import { describe, expect, test } from "vitest";
import { overBudget, overlapSeconds, percentile } from "../../src/recovery/phases.ts";
import { phaseDurations, type RecoveryPhases } from "../../src/recovery/milestones.ts";

// Milestones as measured on the offline k3s: the ReplicaSet starts the
// replacement before the deleted pod is gone.
const overlapping: RecoveryPhases = { oldPodGone_s: 2.88, newPodScheduled_s: 0.1, containerStarted_s: 0.95, mysqldReady_s: 3.15, firstVerifiedQuery_s: 3.28 };

describe("recovery phases", () => {
  test("segments follow the order the milestones happened in, and add up to the total", () => {
    const segments = phaseDurations(overlapping);
    expect(segments.map((s) => s.phase)).toEqual(["newPodScheduled_s", "containerStarted_s", "oldPodGone_s", "mysqldReady_s", "firstVerifiedQuery_s"]);
    expect(segments.map((s) => s.seconds)).toEqual([0.1, 0.85, 1.93, 0.27, 0.13]);
    expect(
      segments.filter((s) => s.seconds < 0),
      "segments of negative length",
    ).toEqual([]);
    expect(+segments.reduce((sum, s) => sum + s.seconds, 0).toFixed(2)).toBe(3.28);
  });

  test("overlap is how long the new container ran beside the old pod, never negative", () => {
    expect(overlapSeconds(overlapping)).toBe(1.93);
    expect(overlapSeconds({ ...overlapping, oldPodGone_s: 0.5 })).toBe(0);
  });

  test("a recovery over budget names the slowest segment; one within it passes", () => {
    const slow: RecoveryPhases = { oldPodGone_s: 1.8, newPodScheduled_s: 0.05, containerStarted_s: 0.9, mysqldReady_s: 37.2, firstVerifiedQuery_s: 37.3 };
    expect(overBudget(slow, 30_000, 4)).toMatch(/^recovery 4 took 37\.3 s, over the 30 s budget; slowest phase: mysqldReady_s \(35\.4 s\)/);
    expect(overBudget(overlapping, 30_000, 1)).toBeUndefined();
    expect(overBudget({ ...overlapping, firstVerifiedQuery_s: 30 }, 30_000, 1), "exactly the budget is within it").toBeUndefined();
  });

  test("percentiles are nearest-rank", () => {
    const totals = [1.88, 3.28, 1.73, 3.07, 1.93, 3.07, 1.98, 3.05, 1.99, 2.94];
    expect(percentile(totals, 50)).toBe(1.99);
    expect(percentile(totals, 95)).toBe(3.28);
    expect(percentile([], 50)).toBeNaN();
  });
});
