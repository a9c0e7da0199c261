/**
 * The static rules: what the manifests must say for MySQL's data to survive,
 * judged without a cluster. Each rule lives with its concern under rules/
 * (the data directory, the claims, the workload's settings, the
 * credentials, the network); this list is their order in every report.
 */
import type { LoadedObject } from "./load.ts";
import { claimExists, claimRequestsStorage, classCapabilities, singleWriterAccessMode, storageClass } from "./rules/claims.ts";
import { credentialsFromSecret, secretExists, secretNotInArguments, secretOnlyWhereUsed } from "./rules/credentials.ts";
import { dataDirOnClaim, dataDirWritable, databaseWorkload, datadirArgumentOnClaim } from "./rules/data-dir.ts";
import { networkPolicy, networkPolicyIsolates, serviceNotExposed } from "./rules/network.ts";
import type { KnownClass, Rule, RuleContext, RuleOptions, Severity } from "./rules/rule.ts";
import { readinessProbe, recreateStrategy, resourceRequests, singleReplica } from "./rules/workload.ts";
import { claimViews } from "./views.ts";
import { findDatabaseWorkload } from "./workload.ts";

export type { KnownClass, RuleOptions, Severity };

export interface Finding {
  rule: string;
  severity: Severity;
  file: string;
  line: number;
  message: string;
  fix: string;
}

export const rules: Rule[] = [
  databaseWorkload,
  dataDirOnClaim,
  datadirArgumentOnClaim,
  dataDirWritable,
  claimExists,
  claimRequestsStorage,
  singleWriterAccessMode,
  singleReplica,
  recreateStrategy,
  credentialsFromSecret,
  secretExists,
  secretNotInArguments,
  secretOnlyWhereUsed,
  readinessProbe,
  resourceRequests,
  storageClass,
  classCapabilities,
  networkPolicy,
  networkPolicyIsolates,
  serviceNotExposed,
];

export function checkRules(objects: LoadedObject[], options: RuleOptions): Finding[] {
  const context: RuleContext = {
    objects,
    workload: findDatabaseWorkload(objects, options.dataDir),
    claims: new Map(claimViews(objects).map((claim) => [claim.name, claim])),
    secrets: new Set(objects.filter((o) => o.object.kind === "Secret").map((o) => o.object.metadata.name)),
    options,
  };
  return rules.flatMap((rule) =>
    rule.check(context).map((hit) => ({
      rule: rule.id,
      severity: hit.severity ?? rule.severity,
      file: hit.at.file,
      line: hit.at.lineOf(hit.path),
      message: hit.message,
      fix: hit.fix ?? rule.fix,
    })),
  );
}
