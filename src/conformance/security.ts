/**
 * The design's security claims, checked on a cluster: each check gathers
 * facts (security-network.ts, security-credentials.ts, security-storage.ts,
 * security-transit.ts) and is judged here, in the design's own words, by
 * pure functions the unit tests read. A claim is kept, or not kept and noted
 * as a finding (the manifests do not claim the protection), or failed (the
 * manifests claim a protection the cluster does not give), or cannot be shown
 * on this cluster (skipped, with the reason).
 */

/** The design's words, quoted in every check's name and finding. */
export const designClaims = {
  network: "Network-level security (pod-to-pod communication)",
  credentials: "Secret-based credential management",
  atRest: "Encrypted storage (production environments)",
  inTransit: "At-rest and in-transit data encryption",
  onlyMysql: "Volume accessible only to MySQL pods",
  readWriteOnce: "ReadWriteOnce access mode prevents concurrent access",
} as const;

/** A check's judgement: what was tried and seen, and at most one of failure, finding, skip. */
export interface SecurityVerdict {
  /** What was tried and what was seen, one line each (the report's notes). */
  seen: string[];
  /** The manifests claim a protection the cluster does not give: the check fails with this. */
  failure?: string;
  /** The protection is absent and the manifests do not claim it: noted, with what would fix it. */
  finding?: string;
  /** This cluster cannot show it (no policy controller): the check is skipped with this. */
  skip?: string;
}

/** How a TCP connection attempt from a probe pod ended. */
export type ConnectOutcome = "connected" | "refused" | "timed out";

/** What the network check saw. */
export interface NetworkFacts {
  /** "Service mysql (10.43.12.7:3306)". */
  service: string;
  /** The manifests' NetworkPolicies that select the MySQL pods for ingress. */
  policies: string[];
  /** A probe pod denied all egress by a policy of its own was kept from connecting: the cluster enforces NetworkPolicy. */
  enforced: boolean;
  /** How the enforcement probe ended, in words. */
  enforcement: string;
  /** A pod of another namespace, without the application's labels. */
  strangerElsewhere: { namespace: string; outcome: ConnectOutcome };
  /** A pod of MySQL's namespace, without the application's labels. */
  strangerHere: { outcome: ConnectOutcome };
  /** A pod of MySQL's namespace with the application's labels. */
  application: { labels: string; outcome: ConnectOutcome };
  /** How long a probe kept trying for the outcome it waited for. */
  patienceS: number;
}

export function networkVerdict(f: NetworkFacts): SecurityVerdict {
  const claim = `"${designClaims.network}"`;
  const seen = [
    `network: the manifests' NetworkPolicies selecting the MySQL pods: ${f.policies.join(", ") || "none"}`,
    `network: enforcement probe (a pod whose own policy denies all its egress): ${f.enforcement}`,
    `network: to ${f.service}: a pod of namespace ${f.strangerElsewhere.namespace} without the application's labels: ${f.strangerElsewhere.outcome}; ` +
      `a pod of MySQL's namespace without them: ${f.strangerHere.outcome}; a pod with them (${f.application.labels}): ${f.application.outcome}`,
  ];
  const strangers = [
    ...(f.strangerElsewhere.outcome === "connected" ? [`a pod of another namespace (${f.strangerElsewhere.namespace})`] : []),
    ...(f.strangerHere.outcome === "connected" ? ["a pod of MySQL's own namespace without the application's labels"] : []),
  ];
  if (!f.enforced) {
    const ignored = f.policies.length
      ? `the manifests' NetworkPolicy ${f.policies.join(", ")} would be accepted and ignored here`
      : `the manifests have no NetworkPolicy either (${strangers.join(" and ") || "no stranger"} connected)`;
    return {
      seen,
      skip: `${claim} cannot be shown on this cluster: it enforces no NetworkPolicy (${f.enforcement}); ${ignored}. Run on a cluster with a policy controller`,
    };
  }
  if (f.application.outcome !== "connected") {
    return {
      seen,
      failure: `the application's pods (${f.application.labels}) cannot reach ${f.service}: the connection ${f.application.outcome === "refused" ? "was refused" : "timed out"} for ${f.patienceS} s${f.policies.length ? ` (NetworkPolicy ${f.policies.join(", ")} does not admit them)` : ""}`,
    };
  }
  if (f.policies.length === 0) {
    return strangers.length
      ? {
          seen,
          finding: `${claim} is not in the manifests: no NetworkPolicy selects the MySQL pods, and ${strangers.join(" and ")} connected to ${f.service}. Fix: a NetworkPolicy selecting the MySQL pods that admits only the application's pods on 3306 (fixtures/network-policy/)`,
        }
      : { seen };
  }
  return strangers.length
    ? {
        seen,
        failure: `NetworkPolicy ${f.policies.join(", ")} selects the MySQL pods, yet ${strangers.join(" and ")} connected to ${f.service} (still after ${f.patienceS} s): the isolation the manifests declare (${claim}) is not kept`,
      }
    : { seen };
}

/** What the run-time credentials check saw (security-credentials.ts). */
export interface CredentialsFacts {
  credentials: string[];
  searched: Record<string, number>;
  sightings: { where: string; credential: string }[];
  unreadable: string[];
  unused: { root: boolean; message: string }[];
}

export function credentialsVerdict(f: CredentialsFacts): SecurityVerdict {
  const claim = `"${designClaims.credentials}"`;
  const searched = Object.entries(f.searched)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(", ");
  const seen = [
    `credentials: searched ${searched} for ${f.credentials.join(", ") || "no credential (the database container reads none)"}: ${f.sightings.length ? `seen ${f.sightings.length} times` : "seen nowhere"}`,
    ...f.unreadable.map((u) => `credentials: the processes of ${u} could not be listed`),
  ];
  const failures: string[] = [];
  const byCredential = new Map<string, string[]>();
  for (const s of f.sightings) byCredential.set(s.credential, [...(byCredential.get(s.credential) ?? []), s.where]);
  for (const [credential, places] of byCredential) failures.push(`${credential} appears in: ${places.join("; ")}`);
  failures.push(...f.unused.filter((u) => u.root).map((u) => u.message));
  const others = f.unused.filter((u) => !u.root).map((u) => u.message);
  if (failures.length)
    return {
      seen,
      failure: `${claim} keeps the credentials in a Secret, but they leak at run time (values never shown): ${failures.join(". ")}${others.length ? `. Also: ${others.join(". ")}` : ""}`,
    };
  return others.length
    ? { seen, finding: `${claim}: Secrets reach containers that do not use them: ${others.join(". ")}. Fix: hand each container only what it reads` }
    : { seen };
}

/** What the at-rest check saw (security-storage.ts). */
export interface AtRestFacts {
  dataDir: string;
  /** "sc_security.marker". */
  table: string;
  filesSearched: number;
  /** The files holding the marker in plain text, relative to the data directory. */
  found: string[];
  /** MySQL returned the marker row after the restart. */
  served: boolean;
  /** The server's encryption settings (SHOW GLOBAL VARIABLES), and its plugin_dir. */
  settings: Record<string, string>;
  /** The marker table's tablespace is encrypted (MySQL's INNODB_TABLESPACES; unknown elsewhere). */
  tableEncrypted?: boolean;
  /** The keyring component and its status ("component_keyring_file Active"), when one is loaded. */
  keyring?: string;
  restartSeconds: number;
}

const encryptionNames = ["default_table_encryption", "innodb_redo_log_encrypt", "innodb_undo_log_encrypt", "binlog_encryption"];

export function atRestVerdict(f: AtRestFacts): SecurityVerdict {
  const claim = `"${designClaims.atRest}"`;
  const settings = encryptionNames.map((n) => `${n}=${f.settings[n] ?? "(none)"}`).join(", ");
  const encrypting = encryptionNames.filter((n) => f.settings[n] === "ON");
  const seen = [
    `at rest: a marker row written through SQL into ${f.table}; MySQL restarted (pod replaced in ${f.restartSeconds.toFixed(1)} s: a clean shutdown writes every page); ` +
      `${f.filesSearched} files under ${f.dataDir} searched from the MySQL container: the marker is in ${f.found.length ? f.found.join(", ") : "none"}; MySQL served the row after the restart: ${f.served ? "yes" : "no"}`,
    `at rest: the server's settings: ${settings}; the table's tablespace encrypted: ${f.tableEncrypted === undefined ? "unknown" : f.tableEncrypted ? "yes" : "no"}; keyring: ${f.keyring ?? "none loaded"}`,
  ];
  if (!f.served) return { seen, failure: `the marker row written to ${f.table} before MySQL restarted is not served after it` };
  if (f.found.length && (encrypting.length || f.tableEncrypted))
    return {
      seen,
      failure: `the server encrypts (${encrypting.join(", ") || `the tablespace of ${f.table}`}), yet a row written through SQL is in plain text in ${f.found.join(", ")} under ${f.dataDir}: what is not encrypted there is readable by anything that reads the volume`,
    };
  if (f.found.length)
    return {
      seen,
      finding:
        `${claim} is not in the manifests: a row written through SQL is in plain text in ${f.found.join(", ")} under ${f.dataDir}; anything that reads the volume (a second pod mounting the claim, the node's directory, a copy of the disk) reads the rows. ` +
        "Fix: InnoDB encryption with a keyring component loaded by a mysqld.my manifest (default_table_encryption=ON, innodb_redo_log_encrypt, innodb_undo_log_encrypt, binlog_encryption: fixtures/encrypted/); " +
        "an encrypting StorageClass protects a stolen disk, not a pod that mounts the claim",
    };
  if (f.tableEncrypted === false)
    return {
      seen,
      failure: `the marker is in none of ${f.filesSearched} files although ${f.table} is not encrypted: the search did not see MySQL's data (is ${f.dataDir} its data directory?)`,
    };
  return { seen };
}

/** What the who-can-mount check saw (security-storage.ts). */
export interface WhoCanMountFacts {
  claim: string;
  accessModes: string[];
  node: string;
  /** The second pod mounted the claim and read MySQL's file while MySQL ran. */
  concurrent: boolean;
  detail: string;
  seconds: number;
}

export function whoCanMountVerdict(f: WhoCanMountFacts): SecurityVerdict {
  const claims = `"${designClaims.onlyMysql}" and "${designClaims.readWriteOnce}"`;
  const seen = [
    `who can mount: a pod without MySQL's or the application's labels, scheduled onto MySQL's node ${f.node}, mounting ${f.claim} (${f.accessModes.join(", ") || "no access modes"}): ${f.detail}`,
  ];
  if (!f.concurrent) return { seen };
  if (f.accessModes.includes("ReadWriteOncePod"))
    return { seen, failure: `${f.claim} is ReadWriteOncePod, yet a second pod mounted it while MySQL ran and read its files: ${f.detail}` };
  return {
    seen,
    finding:
      `${claims}: a second pod mounted ${f.claim} (${f.accessModes.join(", ")}) on node ${f.node} while MySQL ran and read a file MySQL's pod wrote. ` +
      "ReadWriteOnce limits a volume to one node, not one pod. Fix: accessModes [ReadWriteOncePod] (CSI volumes only: a second pod is not scheduled), " +
      `and an admission policy (Kyverno, Gatekeeper or a ValidatingAdmissionPolicy) that lets only MySQL's pods name ${f.claim}: RBAC cannot, whoever may create pods in the namespace may mount any of its claims`,
  };
}

/** One connection of the in-transit check. */
export type SessionOutcome = { connected: true; cipher: string; version: string; requireSecureTransport: string } | { connected: false; error: string };

/** What the in-transit check saw (security-transit.ts). */
export interface InTransitFacts {
  service: string;
  /** The client's own version line. */
  client: string;
  /** A connection that prefers TLS. */
  preferred: SessionOutcome;
  /** A connection that refuses TLS. */
  plain: SessionOutcome;
}

const describeSession = (s: SessionOutcome): string =>
  s.connected ? (s.cipher ? `encrypted (${s.version} ${s.cipher})` : "connected in plain text") : `refused (${s.error})`;

export function inTransitVerdict(f: InTransitFacts): SecurityVerdict {
  const claim = `"${designClaims.inTransit}"`;
  const seen = [
    `in transit: from a pod with the application's labels through ${f.service} (${f.client}): a client preferring TLS: ${describeSession(f.preferred)}; a client refusing TLS: ${describeSession(f.plain)}`,
  ];
  if (!f.preferred.connected) return { seen, failure: `a client in the cluster cannot connect to MySQL through ${f.service}: ${f.preferred.error}` };
  const required = f.preferred.requireSecureTransport;
  seen.push(`in transit: the server's require_secure_transport=${required}`);
  if (!f.preferred.cipher)
    return {
      seen,
      finding: `${claim}, in transit: the server offers no TLS: every connection through ${f.service} is plain text. Fix: give mysqld a certificate (ssl_cert, ssl_key, ssl_ca) and set require_secure_transport=ON`,
    };
  if (f.plain.connected && required === "ON")
    return { seen, failure: `the server says require_secure_transport=ON, yet a client refusing TLS connected through ${f.service}` };
  if (f.plain.connected)
    return {
      seen,
      finding:
        `${claim}, in transit: a client that asks for TLS gets it (${f.preferred.version} ${f.preferred.cipher}), but the server also accepts plain connections (require_secure_transport=${required}): ` +
        `a client that does not ask talks to MySQL in plain text across the pod network. Fix: require_secure_transport=ON, and clients that verify the server's certificate (ssl-mode=VERIFY_IDENTITY with its CA)`,
    };
  return { seen };
}
