/** The database workload's own settings: one replica, replaced by Recreate, Ready only when mysqld answers, with resources requested. */
import { containerPath, dataClaim, type Rule, singleWriter } from "./rule.ts";

export const singleReplica: Rule = {
  id: "single-replica",
  severity: "error",
  explanation: "replicas of a Deployment share its one claim: two mysqld on one data directory corrupt it",
  fix: "set replicas: 1 (use a StatefulSet with replication for more than one server)",
  check: (c) => {
    const w = c.workload;
    if (w?.view.kind !== "Deployment" || !w.claimName) return [];
    const replicas = w.view.object.spec?.replicas ?? 1;
    return replicas > 1
      ? [{ at: w.source, path: ["spec", "replicas"], message: `Deployment ${w.name} has replicas: ${replicas} on claim ${w.claimName}` }]
      : [];
  },
};

export const recreateStrategy: Rule = {
  id: "recreate-strategy",
  severity: "error",
  explanation:
    "RollingUpdate starts the new pod before the old one stops, so a second mysqld can open the same data (or hang on the ReadWriteOnce volume); Recreate stops the old one first",
  fix: "set spec.strategy.type: Recreate",
  check: (c) => {
    const w = c.workload;
    if (w?.view.kind !== "Deployment" || !singleWriter(dataClaim(c))) return [];
    const strategy = w.view.object.spec?.strategy?.type ?? "RollingUpdate (the default)";
    return strategy === "Recreate"
      ? []
      : [{ at: w.source, path: ["spec", "strategy"], message: `Deployment ${w.name} updates with ${strategy} on a ReadWriteOnce claim` }];
  },
};

export const readinessProbe: Rule = {
  id: "readiness-probe",
  severity: "error",
  explanation: "without a readiness probe a pod is Ready before mysqld answers, so recovery time means nothing and Services send traffic too early",
  fix: "add a readinessProbe that asks mysqld (e.g. mysqladmin ping)",
  check: (c) => {
    const w = c.workload;
    if (!w || w.container.readinessProbe) return [];
    return [{ at: w.source, path: containerPath(w), message: `container ${w.container.name} of ${w.kind}/${w.name} has no readinessProbe` }];
  },
};

export const resourceRequests: Rule = {
  id: "resource-requests",
  severity: "warning",
  explanation: "without requests the scheduler places MySQL anywhere and evicts it first under pressure",
  fix: "set resources.requests.cpu and resources.requests.memory",
  check: (c) => {
    const w = c.workload;
    if (!w) return [];
    const requests = w.container.resources?.requests ?? {};
    const missing = ["cpu", "memory"].filter((r) => !(r in requests));
    return missing.length
      ? [{ at: w.source, path: [...containerPath(w), "resources"], message: `container ${w.container.name} requests no ${missing.join(" or ")}` }]
      : [];
  },
};
