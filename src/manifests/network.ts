/**
 * Who may reach the database over the network, as the manifests say it: which
 * NetworkPolicies select its pods, and whether one of them admits every
 * source on its port. Pure: the static rules (rules/network.ts) judge it, and
 * the live network check (conformance/security-network.ts) reads it to know
 * whether the manifests claim isolation.
 */
import type { V1LabelSelector, V1NetworkPolicyIngressRule, V1NetworkPolicyPeer, V1NetworkPolicyPort } from "@kubernetes/client-node";
import type { FieldPath, NetworkPolicyView } from "./views.ts";

/**
 * Whether a label selector selects `labels`, as the API server decides:
 * matchLabels and every matchExpressions requirement (In, NotIn, Exists,
 * DoesNotExist). An empty selector ({}) selects everything; an absent one
 * (undefined) is treated the same, as podSelector's default.
 */
export function selects(selector: V1LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values } of selector?.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, key);
    const value = labels[key];
    if (operator === "In" && !(has && (values ?? []).includes(value!))) return false;
    if (operator === "NotIn" && has && (values ?? []).includes(value!)) return false;
    if (operator === "Exists" && !has) return false;
    if (operator === "DoesNotExist" && has) return false;
  }
  return true;
}

/** A selector with nothing in it: it selects every pod (or every namespace). */
export const isEmptySelector = (selector: V1LabelSelector | undefined): boolean =>
  !!selector && Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;

/**
 * Whether a policy restricts ingress: policyTypes names Ingress, or is absent
 * (then Ingress always applies, Egress only when the policy has egress rules).
 */
export function restrictsIngress(policy: NetworkPolicyView): boolean {
  const types = policy.object.spec?.policyTypes;
  return !types || types.length === 0 || types.includes("Ingress");
}

/** The NetworkPolicies that select pods with `labels` for ingress (a policy selects pods of its own namespace only: the manifests' one). */
export function ingressPoliciesFor(policies: readonly NetworkPolicyView[], labels: Readonly<Record<string, string>>): NetworkPolicyView[] {
  return policies.filter((p) => restrictsIngress(p) && selects(p.object.spec?.podSelector, labels));
}

/** The database's port: its number and, when the container names it, its name (a policy or Service may use either). */
export interface DatabasePort {
  number: number;
  name?: string;
}

/** Whether a policy's port list covers the database's port (no list: every port). */
export function coversPort(ports: readonly V1NetworkPolicyPort[] | undefined, port: DatabasePort): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? "TCP") !== "TCP") return false;
    if (p.port === undefined) return true;
    if (typeof p.port === "string") return p.port === port.name || p.port === String(port.number);
    return p.endPort === undefined ? p.port === port.number : p.port <= port.number && port.number <= p.endPort;
  });
}

/** How far an ingress rule's sources reach, broadest first; undefined when it names the sources it admits. */
export type OpenScope = "every source" | "every pod of every namespace" | "every pod of the policy's namespace";

/**
 * An ingress rule's `from`. The manifests hold it as written (`from`); the
 * client's type names it `_from` (a reserved word in its generator), which
 * only its deserialiser fills.
 */
function sourcesOf(rule: V1NetworkPolicyIngressRule): V1NetworkPolicyPeer[] | undefined {
  return (rule as { from?: V1NetworkPolicyPeer[] }).from ?? rule._from;
}

/** The broadest reach of one `from` entry, if it is open. */
function peerScope(peer: V1NetworkPolicyPeer): { scope: OpenScope; written: string } | undefined {
  const cidr = peer.ipBlock?.cidr;
  if (cidr === "0.0.0.0/0" || cidr === "::/0") return { scope: "every source", written: `ipBlock ${cidr}` };
  if (peer.ipBlock) return undefined;
  const namespaces = peer.namespaceSelector;
  const pods = peer.podSelector;
  if (namespaces && isEmptySelector(namespaces) && (!pods || isEmptySelector(pods)))
    return { scope: "every pod of every namespace", written: pods ? "namespaceSelector: {} and podSelector: {}" : "namespaceSelector: {}" };
  if (!namespaces && pods && isEmptySelector(pods)) return { scope: "every pod of the policy's namespace", written: "podSelector: {}" };
  return undefined;
}

/** An ingress rule of a policy that admits more than named sources to the database's port. */
export interface OpenIngress {
  policy: string;
  /** The rule's index in spec.ingress and its path (for the line). */
  index: number;
  path: FieldPath;
  scope: OpenScope;
  /** What in the rule opens it, as written ("namespaceSelector: {}", "no from"). */
  written: string;
}

/**
 * The open ingress rules of a policy on the database's port: a rule with no
 * `from` (every source), a peer `namespaceSelector: {}` without a narrower
 * podSelector (every pod of every namespace), `podSelector: {}` alone (every
 * pod of the namespace), an ipBlock of the whole address space.
 */
export function openIngressRules(policy: NetworkPolicyView, port: DatabasePort): OpenIngress[] {
  return (policy.object.spec?.ingress ?? []).flatMap((rule, index): OpenIngress[] => {
    if (!coversPort(rule.ports, port)) return [];
    const path = ["spec", "ingress", index];
    const from = sourcesOf(rule);
    if (!from || from.length === 0) return [{ policy: policy.name, index, path, scope: "every source", written: "no from" }];
    const order: OpenScope[] = ["every source", "every pod of every namespace", "every pod of the policy's namespace"];
    const open = from
      .map((peer, i) => ({ found: peerScope(peer), i }))
      .filter((p): p is { found: { scope: OpenScope; written: string }; i: number } => !!p.found)
      .sort((a, b) => order.indexOf(a.found.scope) - order.indexOf(b.found.scope))[0];
    return open ? [{ policy: policy.name, index, path: [...path, "from", open.i], scope: open.found.scope, written: open.found.written }] : [];
  });
}
