import { describe, expect, it } from "vitest";
import { applicationLabels } from "../../src/labels.ts";
import {
  type AtRestFacts,
  atRestVerdict,
  type CredentialsFacts,
  credentialsVerdict,
  type InTransitFacts,
  inTransitVerdict,
  type NetworkFacts,
  networkVerdict,
  type WhoCanMountFacts,
  whoCanMountVerdict,
} from "../../src/conformance/security.ts";
import { cmdlineCommand, parseCmdlines, sightings } from "../../src/conformance/security-credentials.ts";
import { connectCommand, egressDenyPolicy, parseConnectOutput, probeLabels, probePodSpec } from "../../src/conformance/security-network.ts";
import { parseSearch, searchCommand } from "../../src/conformance/security-storage.ts";
import { clientCommand, clientFlavor, parseSession, tlsOption } from "../../src/conformance/security-transit.ts";
import { selects } from "../../src/manifests/network.ts";

const password = "conformance-root-pw";

describe("the network probes", () => {
  it("the enforcement probe's policy denies all egress of the pods labelled egress-denied, and nothing else", () => {
    expect(egressDenyPolicy("sc-stranger-abc")).toEqual({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "sc-deny-egress-probe", namespace: "sc-stranger-abc" },
      spec: { podSelector: { matchLabels: { "storage-conformance/probe": "egress-denied" } }, policyTypes: ["Egress"], egress: [] },
    });
  });

  it("a stranger wears neither MySQL's nor the application's labels; the application's probe wears the application's", () => {
    const mysql = { matchLabels: { app: "mysql" } };
    const application = { matchLabels: applicationLabels };
    expect(selects(mysql, probeLabels("stranger")) || selects(application, probeLabels("stranger"))).toBe(false);
    expect(selects(application, probeLabels("egress-denied"))).toBe(false);
    expect(selects(application, probeLabels("application"))).toBe(true);
    expect(selects(mysql, probeLabels("application"))).toBe(false);
  });

  it("a probe pod runs MySQL's image idle, on MySQL's node, with its role's labels", () => {
    expect(probePodSpec("stranger", "mysql:8.4", "node-1")).toEqual({
      purpose: "probe-stranger",
      container: { image: "mysql:8.4", command: ["sleep", "600"], resources: { requests: { cpu: "10m", memory: "16Mi" } } },
      volumes: [],
      labels: { "storage-conformance/probe": "stranger" },
      nodeName: "node-1",
    });
    expect(probePodSpec("application", "mysql:8.4")).not.toHaveProperty("nodeName");
  });

  it("one bounded TCP attempt through bash's /dev/tcp, its end read from the exit status", () => {
    expect(connectCommand("10.43.0.7", 3306, 3)).toEqual(["bash", "-c", `timeout 3 bash -c 'exec 3<>/dev/tcp/10.43.0.7/3306' 2>/dev/null; echo "exit=$?"`]);
    expect(parseConnectOutput("exit=0\n")).toBe("connected");
    expect(parseConnectOutput("exit=124\n")).toBe("timed out");
    expect(parseConnectOutput("exit=1\n")).toBe("refused");
    expect(() => parseConnectOutput("bash: not found")).toThrow('the connection attempt printed no exit status: "bash: not found"');
  });
});

describe("the network verdict", () => {
  const facts = (over: Partial<NetworkFacts>): NetworkFacts => ({
    service: "Service mysql (10.43.0.7:3306)",
    policies: [],
    enforced: true,
    enforcement: "its connection timed out under policy sc-deny-egress-probe, as it must",
    strangerElsewhere: { namespace: "sc-stranger-1a2b3c", outcome: "connected" },
    strangerHere: { outcome: "connected" },
    application: { labels: "app.kubernetes.io/name=ledger-writer", outcome: "connected" },
    patienceS: 30,
    ...over,
  });

  it("the design (no policy, enforcing cluster): a finding in the design's words, with the fix", () => {
    const verdict = networkVerdict(facts({}));
    expect(verdict.failure).toBeUndefined();
    expect(verdict.finding).toBe(
      "\"Network-level security (pod-to-pod communication)\" is not in the manifests: no NetworkPolicy selects the MySQL pods, and a pod of another namespace (sc-stranger-1a2b3c) and a pod of MySQL's own namespace without the application's labels connected to Service mysql (10.43.0.7:3306). Fix: a NetworkPolicy selecting the MySQL pods that admits only the application's pods on 3306 (fixtures/network-policy/)",
    );
    expect(verdict.seen).toHaveLength(3);
  });

  it("a cluster without a policy controller is said, not passed: with or without the manifests' policy", () => {
    const enforcement = "it still connected to Service mysql (10.43.0.7:3306) after 30 s under policy sc-deny-egress-probe";
    expect(networkVerdict(facts({ enforced: false, enforcement, policies: ["mysql-ingress"] })).skip).toBe(
      `"Network-level security (pod-to-pod communication)" cannot be shown on this cluster: it enforces no NetworkPolicy (${enforcement}); the manifests' NetworkPolicy mysql-ingress would be accepted and ignored here. Run on a cluster with a policy controller`,
    );
    expect(networkVerdict(facts({ enforced: false, enforcement })).skip).toMatch(
      /the manifests have no NetworkPolicy either \(a pod of another namespace \(sc-stranger-1a2b3c\) and a pod of MySQL's own namespace without the application's labels connected\)/,
    );
  });

  it("a policy that keeps strangers out and lets the application in: kept", () => {
    const verdict = networkVerdict(
      facts({ policies: ["mysql-ingress"], strangerElsewhere: { namespace: "x", outcome: "timed out" }, strangerHere: { outcome: "refused" } }),
    );
    expect(verdict).toEqual({ seen: expect.any(Array) });
  });

  it("a policy that lets a stranger in fails, naming the policy and who connected", () => {
    const verdict = networkVerdict(facts({ policies: ["mysql-ingress"], strangerHere: { outcome: "timed out" } }));
    expect(verdict.failure).toBe(
      'NetworkPolicy mysql-ingress selects the MySQL pods, yet a pod of another namespace (sc-stranger-1a2b3c) connected to Service mysql (10.43.0.7:3306) (still after 30 s): the isolation the manifests declare ("Network-level security (pod-to-pod communication)") is not kept',
    );
  });

  it("a policy that shuts the application out fails", () => {
    const verdict = networkVerdict(
      facts({ policies: ["mysql-ingress"], application: { labels: "app.kubernetes.io/name=ledger-writer", outcome: "timed out" } }),
    );
    expect(verdict.failure).toBe(
      "the application's pods (app.kubernetes.io/name=ledger-writer) cannot reach Service mysql (10.43.0.7:3306): the connection timed out for 30 s (NetworkPolicy mysql-ingress does not admit them)",
    );
  });
});

describe("the credentials at run time", () => {
  it("a credential is found as itself or base64, short values are never searched", () => {
    const places = [
      { where: "process 1 (mysqld)", text: `mysqld --loose-root-password=${password}` },
      { where: "annotations", text: JSON.stringify({ data: Buffer.from(password).toString("base64") }) },
      { where: "log", text: "nothing here" },
    ];
    expect(
      sightings(places, [
        { label: "the root password", value: password },
        { label: "short", value: "ab" },
      ]),
    ).toEqual([
      { where: "process 1 (mysqld)", credential: "the root password" },
      { where: "annotations", credential: "the root password" },
    ]);
  });

  it("reads /proc/*/cmdline with NULs as spaces, one process a line", () => {
    expect(cmdlineCommand[2]).toContain("/proc/[0-9]*/cmdline");
    expect(parseCmdlines("1\tmysqld --user=mysql \n57\t/bin/sh -c x \n58\t\nnot a line\n")).toEqual([
      { pid: "1", program: "mysqld", text: "mysqld --user=mysql" },
      { pid: "57", program: "sh", text: "/bin/sh -c x" },
    ]);
  });

  const facts = (over: Partial<CredentialsFacts>): CredentialsFacts => ({
    credentials: ["the root password (Secret mysql-credentials, key root-password)"],
    searched: { "container specs": 1, processes: 3, annotations: 2, events: 12, logs: 1 },
    sightings: [],
    unreadable: [],
    unused: [],
    ...over,
  });

  it("nowhere: kept, with what was searched", () => {
    expect(credentialsVerdict(facts({}))).toEqual({
      seen: [
        "credentials: searched 1 container specs, 3 processes, 2 annotations, 12 events, 1 logs for the root password (Secret mysql-credentials, key root-password): seen nowhere",
      ],
    });
  });

  it("seen, or the root password handed to a container that does not read it: a failure naming places, never the value", () => {
    const verdict = credentialsVerdict(
      facts({
        sightings: [
          {
            where: "pod mysql-0 container mysql: the arguments of process 1 (mysqld)",
            credential: "the root password (Secret mysql-credentials, key root-password)",
          },
          { where: "the log of pod mysql-0 container mysql", credential: "the root password (Secret mysql-credentials, key root-password)" },
        ],
        unused: [
          {
            root: true,
            message:
              "the root password (Secret mysql-credentials, key root-password) reaches container shipper of pod mysql-0 through $PW, and nothing it runs reads it",
          },
          {
            root: false,
            message: "Secret s3 (key key) reaches container shipper of pod mysql-0 through $S3, and nothing its command, args or probes run reads it",
          },
        ],
      }),
    );
    expect(verdict.failure).toBe(
      '"Secret-based credential management" keeps the credentials in a Secret, but they leak at run time (values never shown): the root password (Secret mysql-credentials, key root-password) appears in: pod mysql-0 container mysql: the arguments of process 1 (mysqld); the log of pod mysql-0 container mysql. the root password (Secret mysql-credentials, key root-password) reaches container shipper of pod mysql-0 through $PW, and nothing it runs reads it. Also: Secret s3 (key key) reaches container shipper of pod mysql-0 through $S3, and nothing its command, args or probes run reads it',
    );
    expect(JSON.stringify(verdict)).not.toContain(password);
  });

  it("another Secret handed to a container that does not read it: a finding", () => {
    const verdict = credentialsVerdict(facts({ unused: [{ root: false, message: "Secret s3 reaches x" }] }));
    expect([verdict.failure, verdict.finding]).toEqual([
      undefined,
      '"Secret-based credential management": Secrets reach containers that do not use them: Secret s3 reaches x. Fix: hand each container only what it reads',
    ]);
  });
});

describe("at rest", () => {
  it("searches with the marker and the directory as arguments, never spliced into the script", () => {
    expect(searchCommand("/var/lib/mysql", "sc-marker-00")).toEqual([
      "sh",
      "-c",
      'find "$1" -type f | wc -l; grep -rlF --devices=skip -e "$2" "$1"; echo "exit=$?"',
      "sh",
      "/var/lib/mysql",
      "sc-marker-00",
    ]);
  });

  it("reads the count, the files relative to the data directory, and grep's trouble", () => {
    expect(parseSearch("212\n/var/lib/mysql/binlog.000002\n/var/lib/mysql/sc_security/marker.ibd\nexit=0\n", "", "/var/lib/mysql")).toEqual({
      filesSearched: 212,
      found: ["binlog.000002", "sc_security/marker.ibd"],
    });
    expect(parseSearch("212\nexit=1\n", "", "/var/lib/mysql/")).toEqual({ filesSearched: 212, found: [] });
    expect(parseSearch("212\n/var/lib/mysql/x\nexit=2\n", "grep: y: Permission denied", "/var/lib/mysql")).toEqual({ filesSearched: 212, found: ["x"] });
    expect(() => parseSearch("212\nexit=2\n", "grep: /var/lib/mysql: Permission denied", "/var/lib/mysql")).toThrow(
      "searching /var/lib/mysql failed: grep: /var/lib/mysql: Permission denied",
    );
    expect(() => parseSearch("sh: find: not found\n", "", "/var/lib/mysql")).toThrow(/^searching \/var\/lib\/mysql printed/);
  });

  const facts = (over: Partial<AtRestFacts>): AtRestFacts => ({
    dataDir: "/var/lib/mysql",
    table: "sc_security.marker",
    filesSearched: 212,
    found: ["binlog.000002", "sc_security/marker.ibd", "#innodb_redo/#ib_redo6"],
    served: true,
    settings: { default_table_encryption: "OFF", innodb_redo_log_encrypt: "OFF", innodb_undo_log_encrypt: "OFF", binlog_encryption: "OFF" },
    tableEncrypted: false,
    restartSeconds: 14.2,
    ...over,
  });

  it("the design: the row in plain text is a finding in the design's words, with what would fix it", () => {
    const verdict = atRestVerdict(facts({}));
    expect(verdict.failure).toBeUndefined();
    expect(verdict.finding).toMatch(
      /^"Encrypted storage \(production environments\)" is not in the manifests: a row written through SQL is in plain text in binlog\.000002, sc_security\/marker\.ibd, #innodb_redo\/#ib_redo6 under \/var\/lib\/mysql; [^]*Fix: InnoDB encryption with a keyring component [^]*fixtures\/encrypted\//,
    );
  });

  const encrypted = { default_table_encryption: "ON", innodb_redo_log_encrypt: "ON", innodb_undo_log_encrypt: "ON", binlog_encryption: "ON" };

  it("encrypted and in no file, served after the restart: kept", () => {
    expect(atRestVerdict(facts({ found: [], settings: encrypted, tableEncrypted: true, keyring: "component_keyring_file Active" }))).toEqual({
      seen: [
        expect.stringMatching(/the marker is in none; MySQL served the row after the restart: yes$/),
        expect.stringMatching(/keyring: component_keyring_file Active$/),
      ],
    });
  });

  it("encryption the server claims, with the row in plain text somewhere (the binary log), fails", () => {
    const verdict = atRestVerdict(facts({ found: ["binlog.000002"], settings: { ...encrypted, binlog_encryption: "OFF" }, tableEncrypted: true }));
    expect(verdict.failure).toBe(
      "the server encrypts (default_table_encryption, innodb_redo_log_encrypt, innodb_undo_log_encrypt), yet a row written through SQL is in plain text in binlog.000002 under /var/lib/mysql: what is not encrypted there is readable by anything that reads the volume",
    );
  });

  it("a row gone after the restart, or a search that cannot have seen the data, fails", () => {
    expect(atRestVerdict(facts({ served: false })).failure).toBe("the marker row written to sc_security.marker before MySQL restarted is not served after it");
    expect(atRestVerdict(facts({ found: [] })).failure).toMatch(/^the marker is in none of 212 files although sc_security\.marker is not encrypted/);
  });
});

describe("who can mount", () => {
  const facts = (over: Partial<WhoCanMountFacts>): WhoCanMountFacts => ({
    claim: "mysql-pvc",
    accessModes: ["ReadWriteOnce"],
    node: "node-1",
    concurrent: true,
    detail: "pod second-reader-1 on node node-1 read the marker while mysql-0 was running",
    seconds: 3.1,
    ...over,
  });

  it("ReadWriteOnce and a second pod in: a finding naming ReadWriteOncePod and a policy engine", () => {
    const verdict = whoCanMountVerdict(facts({}));
    expect(verdict.finding).toMatch(
      /^"Volume accessible only to MySQL pods" and "ReadWriteOnce access mode prevents concurrent access": a second pod mounted mysql-pvc \(ReadWriteOnce\) on node node-1 while MySQL ran[^]*ReadWriteOnce limits a volume to one node, not one pod\. Fix: accessModes \[ReadWriteOncePod\][^]*Kyverno, Gatekeeper or a ValidatingAdmissionPolicy/,
    );
  });

  it("ReadWriteOncePod and a second pod in: fails; kept out: kept", () => {
    expect(whoCanMountVerdict(facts({ accessModes: ["ReadWriteOncePod"] })).failure).toMatch(/^mysql-pvc is ReadWriteOncePod, yet a second pod mounted it/);
    expect(whoCanMountVerdict(facts({ accessModes: ["ReadWriteOncePod"], concurrent: false, detail: "not scheduled" }))).toEqual({
      seen: [expect.any(String)],
    });
  });
});

describe("in transit", () => {
  it("asks MySQL's client or MariaDB's in its own options, the password from the environment only", () => {
    expect(clientFlavor("mysql  Ver 9.7.4 for Linux on x86_64 (MySQL Community Server - GPL)")).toBe("mysql");
    expect(clientFlavor("mysql from 10.11.14-MariaDB, client 15.2 for debian-linux-gnu")).toBe("mariadb");
    expect([tlsOption("mysql", "preferred"), tlsOption("mysql", "disabled"), tlsOption("mariadb", "preferred"), tlsOption("mariadb", "disabled")]).toEqual([
      "--ssl-mode=PREFERRED",
      "--ssl-mode=DISABLED",
      "--ssl",
      "--skip-ssl",
    ]);
    const command = clientCommand("10.43.0.7", 3306, "--ssl-mode=DISABLED", 5);
    expect([...command.slice(3, 7), command[8]]).toEqual(["sh", "10.43.0.7", "3306", "--ssl-mode=DISABLED", "5"]);
    expect(command[2]).toBe('MYSQL_PWD="$SC_ROOT_PASSWORD" exec mysql -h "$1" -P "$2" -uroot --connect-timeout="$5" --batch --skip-column-names "$3" -e "$4"');
  });

  it("reads the session's cipher and protocol, and require_secure_transport as ON or OFF", () => {
    expect(parseSession("Ssl_cipher\tTLS_AES_128_GCM_SHA256\nSsl_version\tTLSv1.3\nrequire_secure_transport=0\n")).toEqual({
      cipher: "TLS_AES_128_GCM_SHA256",
      version: "TLSv1.3",
      requireSecureTransport: "OFF",
    });
    expect(parseSession("Ssl_cipher\t\nSsl_version\t\nrequire_secure_transport=1\n")).toEqual({ cipher: "", version: "", requireSecureTransport: "ON" });
  });

  const tls = { connected: true as const, cipher: "TLS_AES_128_GCM_SHA256", version: "TLSv1.3", requireSecureTransport: "OFF" };
  const facts = (over: Partial<InTransitFacts>): InTransitFacts => ({
    service: "Service mysql (10.43.0.7:3306)",
    client: "mysql  Ver 9.7.4",
    preferred: tls,
    plain: { connected: true, cipher: "", version: "", requireSecureTransport: "OFF" },
    ...over,
  });

  it("TLS offered but not required: a finding in the design's words", () => {
    expect(inTransitVerdict(facts({})).finding).toMatch(
      /^"At-rest and in-transit data encryption", in transit: a client that asks for TLS gets it \(TLSv1\.3 TLS_AES_128_GCM_SHA256\), but the server also accepts plain connections \(require_secure_transport=OFF\)[^]*Fix: require_secure_transport=ON/,
    );
  });

  it("required, and a plain client refused: kept; no TLS at all: a finding; no connection: a failure", () => {
    const refused = {
      connected: false as const,
      error: "ERROR 3159 (HY000): Connections using insecure transport are prohibited while --require_secure_transport=ON.",
    };
    expect(inTransitVerdict(facts({ preferred: { ...tls, requireSecureTransport: "ON" }, plain: refused }))).toEqual({
      seen: [expect.any(String), expect.any(String)],
    });
    expect(inTransitVerdict(facts({ preferred: { ...tls, cipher: "", version: "" } })).finding).toMatch(/the server offers no TLS/);
    expect(inTransitVerdict(facts({ preferred: { connected: false, error: "ERROR 2003 (HY000): Can't connect" } })).failure).toBe(
      "a client in the cluster cannot connect to MySQL through Service mysql (10.43.0.7:3306): ERROR 2003 (HY000): Can't connect",
    );
  });
});
