import type { V1Node } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { layerCutValues, milestoneValues, nodeContainerOf, withNodeFailureTolerations } from "../../src/conformance/nodes.ts";
import { Timeline } from "../../src/conformance/node-failure.ts";
import type { ClusterWithNodes } from "../../src/cluster/multi-node.ts";
import type { LayerCut } from "../../src/cluster/power.ts";
import type { Kube } from "../../src/kube/client.ts";
import { nodeNameOf } from "../../src/kube/names.ts";
import { WaitError } from "../../src/kube/wait.ts";
import { waitForNodeReady } from "../../src/kube/waits.ts";
import type { LoadedObject } from "../../src/manifests/load.ts";
import { podTemplateView } from "../../src/manifests/views.ts";

const loaded = (object: LoadedObject["object"]): LoadedObject => ({ object, file: "k8s/mysql.yaml", line: 1 }) as LoadedObject;

describe("the nodes suite's steps", () => {
  it("shortens the not-ready and unreachable tolerations of the workload's pods only, leaving the loaded objects as written", () => {
    const deployment = loaded({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "mysql" },
      spec: { template: { spec: { tolerations: [{ key: "dedicated", operator: "Exists" }], containers: [] } } },
    });
    const claim = loaded({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "mysql-pvc" } });
    const [changed, same] = withNodeFailureTolerations([deployment, claim], 10);
    expect(podTemplateView(changed!)?.spec.tolerations).toEqual([
      { key: "dedicated", operator: "Exists" },
      { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 10 },
      { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 10 },
    ]);
    expect(same).toBe(claim);
    expect(podTemplateView(deployment)?.spec.tolerations).toHaveLength(1);
  });

  it("names each milestone's seconds with the suite's prefix, in the order they happened", () => {
    const timeline = new Timeline(0);
    timeline.milestones.push({ name: "node cordoned", atS: 0.01 }, { name: "replacement Ready", atS: 12.5 });
    expect(milestoneValues("drain_", timeline)).toEqual({
      drain_node_cordoned_s: { value: 0.01, unit: "s" },
      drain_replacement_ready_s: { value: 12.5, unit: "s" },
    });
    expect(Object.keys(milestoneValues("drain_", timeline))).toEqual(["drain_node_cordoned_s", "drain_replacement_ready_s"]);
  });

  it("records what a cut dropped and the write that set it off", () => {
    const cut = {
      layer: "lazyfs",
      trigger: "write",
      triggerPath: "/var/lib/mysql/ib_logfile0",
      droppedBytes: 8192,
      files: [
        { path: "/var/lib/mysql/ib_logfile0", droppedBytes: 4096, keptBytes: 0 },
        { path: "/var/lib/mysql/mysql.sock.lock", droppedBytes: 4096, keptBytes: 0 },
      ],
    } as LayerCut;
    const values = layerCutValues(cut);
    expect(values.power_cut_dropped_bytes).toEqual({ value: 8192, unit: "B" });
    expect(values.power_cut_trigger).toEqual({ value: "write to /var/lib/mysql/ib_logfile0", unit: "" });
    expect(layerCutValues({ ...cut, triggerPath: undefined, trigger: "timeout" } as LayerCut).power_cut_trigger?.value).toBe("timeout");
  });

  it("names the node containers when MySQL runs on a node the run did not start", () => {
    const cluster = {
      nodes: [
        { name: "server-1", role: "server", containerId: "a" },
        { name: "agent-1", role: "agent", containerId: "b" },
      ],
    } as ClusterWithNodes;
    expect(nodeContainerOf(cluster, "agent-1").containerId).toBe("b");
    expect(() => nodeContainerOf(cluster, "elsewhere")).toThrow("MySQL runs on elsewhere, which is not one of this run's node containers (server-1, agent-1)");
  });

  it("names an unscheduled pod instead of reading an undefined node name", () => {
    expect(nodeNameOf({ metadata: { name: "mysql-1", namespace: "nodes-x" }, spec: { nodeName: "agent-1" } })).toBe("agent-1");
    expect(() => nodeNameOf({ metadata: { name: "mysql-1", namespace: "nodes-x" }, spec: {} })).toThrow("pod nodes-x/mysql-1 is not scheduled onto a node");
  });
});

describe("waitForNodeReady", () => {
  /** A client whose readNode answers from `answers` in turn (the last one repeated). */
  function kubeAnswering(answers: (V1Node | "not found")[]): Kube {
    let call = 0;
    const readNode = async () => {
      const answer = answers[Math.min(call++, answers.length - 1)]!;
      if (answer === "not found") throw Object.assign(new Error("HTTP-Code: 404"), { code: 404 });
      return answer;
    };
    return { core: { readNode } } as unknown as Kube;
  }
  const node = (status: string, reason?: string): V1Node => ({
    metadata: { name: "agent-1" },
    status: { conditions: [{ type: "Ready", status, ...(reason ? { reason } : {}) }] },
  });

  it("waits out a node that has not registered yet, then one that is NotReady", async () => {
    const ready = await waitForNodeReady(kubeAnswering(["not found", node("False"), node("True")]), "agent-1", 5_000);
    expect(ready.status?.conditions?.[0]?.status).toBe("True");
  });

  it("on timeout names the node, what it awaited and its last Ready condition", async () => {
    const error = await waitForNodeReady(kubeAnswering([node("Unknown", "NodeStatusUnknown")]), "agent-1", 50, "node agent-1 to be Ready again").catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WaitError);
    expect((error as Error).message).toBe("timed out after 0 s waiting for node agent-1 to be Ready again; last seen: Ready=Unknown (NodeStatusUnknown)");
  });

  it("says when the Node object does not exist", async () => {
    const error = await waitForNodeReady(kubeAnswering(["not found"]), "agent-9", 50).catch((e: unknown) => e as Error);
    expect((error as Error).message).toContain("waiting for node agent-9 to be Ready; last seen: no Node object yet");
  });
});
