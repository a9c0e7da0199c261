import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { milestoneValueName, nodeFailureTolerations, nodeLossVerdict, schedulerMessage, Timeline } from "../../src/conformance/node-failure.ts";
import { milestoneSpec } from "../../src/report/charts.ts";
import type { CheckResult } from "../../src/report/results.ts";

/** A timeline whose milestones are at the given seconds (the clock is the test's). */
function timelineAt(marks: [string, number, string?][]): Timeline {
  const t = new Timeline(0);
  for (const [name, atS, detail] of marks) t.milestones.push({ name, atS, ...(detail ? { detail } : {}) });
  return t;
}

describe("a node failure's timeline", () => {
  it("keeps each milestone once, at the first time it is seen", () => {
    const t = new Timeline(performance.now() - 5_000);
    const first = t.mark("node NotReady", "Ready=Unknown");
    t.mark("node NotReady", "seen again");
    expect(t.milestones).toHaveLength(1);
    expect(first.atS).toBeGreaterThanOrEqual(5);
    expect(t.get("node NotReady")!.detail).toBe("Ready=Unknown");
  });

  it("names values in snake case with the suite's prefix", () => {
    expect(milestoneValueName("node_loss_", "old pod marked for deletion")).toBe("node_loss_old_pod_marked_for_deletion_s");
    expect(milestoneValueName("drain_", "replacement Ready")).toBe("drain_replacement_ready_s");
  });

  it("reads the not-ready and unreachable tolerations a pod carries", () => {
    const pod: V1Pod = {
      spec: {
        containers: [],
        tolerations: [
          { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
          { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
          { key: "example.com/other", operator: "Exists", effect: "NoSchedule" },
        ],
      },
    };
    expect(nodeFailureTolerations(pod)).toEqual(["node.kubernetes.io/not-ready: 300 s", "node.kubernetes.io/unreachable: 300 s"]);
  });

  it("takes the scheduler's word from the pod's condition, else from its latest FailedScheduling event", () => {
    const pod: V1Pod = {
      metadata: { name: "mysql-2" },
      status: {
        conditions: [
          {
            type: "PodScheduled",
            status: "False",
            message: "0/3 nodes are available: 2 node(s) had volume node affinity conflict.",
            lastTransitionTime: new Date(),
          },
        ],
      },
    };
    expect(schedulerMessage(pod, [])).toMatch(/volume node affinity conflict/);
    const bare: V1Pod = { metadata: { name: "mysql-2" } };
    const events = [
      { reason: "FailedScheduling", message: "first", involvedObject: { name: "mysql-2" } },
      { reason: "FailedScheduling", message: "latest", involvedObject: { name: "mysql-2" } },
      { reason: "FailedScheduling", message: "another pod", involvedObject: { name: "other" } },
    ] as CoreV1Event[];
    expect(schedulerMessage(bare, events)).toBe("latest");
    expect(schedulerMessage(bare, [])).toBeUndefined();
  });

  it("says which milestone dominated a node loss and that the budget was exceeded", () => {
    const t = timelineAt([
      ["node powered off", 0],
      ["node NotReady", 41.2],
      ["old pod marked for deletion", 342.5],
      ["replacement created", 342.6],
      ["replacement unschedulable", 342.9, "0/3 nodes are available: 1 node(s) had untolerated taint, 2 node(s) had volume node affinity conflict."],
      ["node powered on", 343.4],
      ["data verified", 391],
    ]);
    const verdict = nodeLossVerdict("Kubernetes' defaults", "agent-1", t, 30, ["node.kubernetes.io/unreachable: 300 s"]);
    expect(verdict).toContain("391.0 s after the power cut (budget 30 s: exceeded)");
    expect(verdict).toContain("NotReady at 41.2 s");
    expect(verdict).toContain("marked for deletion at 342.5 s (node.kubernetes.io/unreachable: 300 s)");
    expect(verdict).toContain("volume node affinity conflict");
    expect(verdict).toContain("came back at 343.4 s");
    expect(verdict).toContain('the longest wait was 301.3 s, from "node NotReady" to "old pod marked for deletion": the pod\'s toleration');
  });

  it("does not call a recovery within the budget exceeded", () => {
    const verdict = nodeLossVerdict("storage that moves", "agent-2", timelineAt([["data verified", 12.5]]), 30, []);
    expect(verdict).toContain("12.5 s after the power cut (budget 30 s)");
    expect(verdict).not.toContain("exceeded");
  });
});

describe("the milestone chart", () => {
  const check: CheckResult = {
    suite: "nodes",
    name: "a lost node",
    status: "passed",
    values: {},
    message: "",
    durationMs: 1,
    milestones: {
      disruption: "loss of agent-1",
      budgetS: 30,
      milestones: [
        { name: "node NotReady", atS: 41 },
        { name: "data verified", atS: 391, detail: "x" },
      ],
    },
  };

  it("plots every milestone in order with the budget as a rule", () => {
    const spec = milestoneSpec(check) as { layer: { data: { values: Record<string, unknown>[] } }[] };
    expect(spec.layer[0]!.data.values.map((v) => [v.label, v.atS])).toEqual([
      ["node NotReady", 41],
      ["data verified", 391],
    ]);
    expect(spec.layer[1]!.data.values).toEqual([{ budget: 30 }]);
  });

  it("is left out for a check without milestones", () => {
    expect(milestoneSpec({ ...check, milestones: undefined })).toBeUndefined();
  });
});
