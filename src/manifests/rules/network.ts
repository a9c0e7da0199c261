/**
 * Who can reach MySQL over the network: a NetworkPolicy selects its pods and
 * admits only named sources ("Network-level security (pod-to-pod
 * communication)"), and no Service exposes its port outside the cluster.
 */
import { ingressPoliciesFor, openIngressRules, selects } from "../network.ts";
import { networkPolicyViews, podSpecPath, serviceViews } from "../views.ts";
import { databasePort, labelSelector, podLabels } from "../workload.ts";
import type { Rule } from "./rule.ts";

export const networkPolicy: Rule = {
  id: "network-policy",
  severity: "warning",
  explanation:
    'the design names "Network-level security (pod-to-pod communication)"; without a NetworkPolicy selecting the MySQL pods, every pod of every namespace can connect to 3306',
  fix: "add a NetworkPolicy whose podSelector matches the MySQL pods and whose ingress admits only the application's pods on 3306 (fixtures/network-policy/ has one)",
  check: (c) => {
    const w = c.workload;
    if (!w) return [];
    const labels = podLabels(w);
    if (ingressPoliciesFor(networkPolicyViews(c.objects), labels).length) return [];
    return [
      {
        at: w.source,
        path: [...podSpecPath.slice(0, -1), "metadata", "labels"],
        message: `no NetworkPolicy selects the pods of ${w.kind}/${w.name} (${labelSelector(labels) || "no labels"}) for ingress: any pod of any namespace can connect to MySQL on ${databasePort(w).number}; the design's "Network-level security (pod-to-pod communication)" is not in these manifests`,
      },
    ];
  },
};

export const networkPolicyIsolates: Rule = {
  id: "network-policy-isolates",
  severity: "error",
  explanation:
    "a NetworkPolicy selecting the MySQL pods declares that only some pods may connect; a rule that admits every namespace, every pod or every address makes that isolation a claim the cluster does not keep",
  fix: "admit only the application's pods: from: [{podSelector: {matchLabels: <the application's labels>}}], with a namespaceSelector naming its namespace if it runs elsewhere",
  check: (c) => {
    const w = c.workload;
    if (!w) return [];
    const port = databasePort(w);
    return ingressPoliciesFor(networkPolicyViews(c.objects), podLabels(w)).flatMap((policy) =>
      openIngressRules(policy, port).map((open) => ({
        at: policy.source,
        path: open.path,
        message: `NetworkPolicy ${policy.name} selects the MySQL pods, but its ingress rule ${open.index} admits ${open.scope} (${open.written}) on port ${port.number}: the isolation it declares is not there`,
      })),
    );
  },
};

export const serviceNotExposed: Rule = {
  id: "mysql-service-exposed",
  severity: "error",
  explanation:
    "a Service of type LoadBalancer or NodePort carries MySQL's port outside the cluster (a load balancer's address, every node's address), past any pod-to-pod NetworkPolicy the design relies on",
  fix: "keep MySQL's Service type: ClusterIP (the default); reach it from outside through kubectl port-forward or the application",
  check: (c) => {
    const w = c.workload;
    if (!w) return [];
    const labels = podLabels(w);
    const port = databasePort(w);
    return serviceViews(c.objects).flatMap((service) => {
      const spec = service.object.spec;
      const selector = spec?.selector ?? {};
      if (Object.keys(selector).length === 0 || !selects({ matchLabels: selector }, labels)) return [];
      const exposed = (spec?.ports ?? []).filter((p) => {
        const target = p.targetPort ?? p.port;
        return target === port.number || (port.name !== undefined && target === port.name);
      });
      if (exposed.length === 0) return [];
      const ports = exposed.map((p) => `${p.port}${p.nodePort ? ` (node port ${p.nodePort})` : ""}`).join(", ");
      const type = spec?.type ?? "ClusterIP";
      if (type === "LoadBalancer") {
        const ranges = spec?.loadBalancerSourceRanges ?? [];
        return [
          {
            at: service.source,
            path: ["spec", "type"],
            ...(ranges.length ? { severity: "warning" as const } : {}),
            message: `Service ${service.name} is of type LoadBalancer: MySQL's port ${ports} gets a load balancer's address outside the cluster${ranges.length ? `, open to ${ranges.join(", ")}` : ", open to any source"}`,
          },
        ];
      }
      if (type === "NodePort")
        return [
          {
            at: service.source,
            path: ["spec", "type"],
            severity: "warning" as const,
            message: `Service ${service.name} is of type NodePort: MySQL's port ${ports} is open on every node's address`,
          },
        ];
      if (spec?.externalIPs?.length)
        return [
          {
            at: service.source,
            path: ["spec", "externalIPs"],
            severity: "warning" as const,
            message: `Service ${service.name} carries MySQL's port ${ports} on external addresses ${spec.externalIPs.join(", ")}`,
          },
        ];
      return [];
    });
  },
};
