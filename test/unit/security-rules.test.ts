import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1PodSpec } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { loadManifests } from "../../src/manifests/load.ts";
import { coversPort, ingressPoliciesFor, openIngressRules, selects } from "../../src/manifests/network.ts";
import { secretExposures, unusedSecrets, namesVariable } from "../../src/manifests/secret-use.ts";
import { staticCheck } from "../../src/manifests/static-check.ts";
import { networkPolicyViews, podTemplateViews } from "../../src/manifests/views.ts";

const options = { dataDir: "/var/lib/mysql", minStorage: "1Gi" };

/** The design's manifests with files replaced or added. */
function designWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "sc-security-"));
  cpSync("manifests", dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const findings = (dir: string, rule: string) =>
  staticCheck(dir, options)
    .filter((f) => f.rule === rule)
    .map((f) => `${f.severity} ${f.message}`);

const policy = (spec: string) => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p}
spec:
${spec}`;

describe("label selectors, as the API server matches them", () => {
  const labels = { app: "mysql", tier: "db" };
  it.each([
    [{}, true],
    [undefined, true],
    [{ matchLabels: { app: "mysql" } }, true],
    [{ matchLabels: { app: "web" } }, false],
    [{ matchExpressions: [{ key: "tier", operator: "In", values: ["db", "cache"] }] }, true],
    [{ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["db"] }] }, false],
    [{ matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }, true],
    [{ matchExpressions: [{ key: "zone", operator: "Exists" }] }, false],
    [{ matchExpressions: [{ key: "zone", operator: "DoesNotExist" }] }, true],
  ])("%j selects app=mysql,tier=db: %s", (selector, expected) => {
    expect(selects(selector, labels)).toBe(expected);
  });
});

describe("which NetworkPolicies select the MySQL pods, and what they admit on 3306", () => {
  const views = (spec: string) => networkPolicyViews(loadManifests(designWith({ "p.yaml": policy(spec) })));
  const port = { number: 3306, name: "mysql" };

  it("an egress-only policy restricts nothing coming in", () => {
    expect(ingressPoliciesFor(views("  podSelector: {}\n  policyTypes: [Egress]\n"), { app: "mysql" })).toEqual([]);
  });

  it("a policy without policyTypes restricts ingress", () => {
    expect(ingressPoliciesFor(views("  podSelector: {matchLabels: {app: mysql}}\n"), { app: "mysql" })).toHaveLength(1);
  });

  it.each([
    ["  podSelector: {}\n  ingress:\n    - {}\n", "every source", "no from"],
    ["  podSelector: {}\n  ingress:\n    - from: [{namespaceSelector: {}}]\n", "every pod of every namespace", "namespaceSelector: {}"],
    [
      "  podSelector: {}\n  ingress:\n    - from: [{namespaceSelector: {}, podSelector: {}}]\n",
      "every pod of every namespace",
      "namespaceSelector: {} and podSelector: {}",
    ],
    ["  podSelector: {}\n  ingress:\n    - from: [{podSelector: {}}]\n", "every pod of the policy's namespace", "podSelector: {}"],
    ["  podSelector: {}\n  ingress:\n    - from: [{ipBlock: {cidr: 0.0.0.0/0}}]\n", "every source", "ipBlock 0.0.0.0/0"],
    [
      "  podSelector: {}\n  ingress:\n    - from: [{podSelector: {matchLabels: {a: b}}}, {namespaceSelector: {}}]\n",
      "every pod of every namespace",
      "namespaceSelector: {}",
    ],
  ])("open: %j admits %s", (spec, scope, written) => {
    const [open] = openIngressRules(views(spec)[0]!, port);
    expect([open?.scope, open?.written]).toEqual([scope, written]);
  });

  it.each([
    "  podSelector: {}\n  ingress:\n    - from: [{podSelector: {matchLabels: {app.kubernetes.io/name: ledger-writer}}}]\n",
    "  podSelector: {}\n  ingress:\n    - from: [{namespaceSelector: {matchLabels: {team: shop}}, podSelector: {matchLabels: {a: b}}}]\n",
    "  podSelector: {}\n  ingress:\n    - from: [{namespaceSelector: {}, podSelector: {matchLabels: {a: b}}}]\n",
    "  podSelector: {}\n  ingress:\n    - from: [{ipBlock: {cidr: 10.0.0.0/8}}]\n",
    "  podSelector: {}\n  ingress:\n    - ports: [{port: 8080}]\n",
  ])("named sources, or another port: %j", (spec) => {
    expect(openIngressRules(views(spec)[0]!, port)).toEqual([]);
  });

  it.each([
    [undefined, true],
    [[{ port: 3306 }], true],
    [[{ port: "mysql" }], true],
    [[{ port: 3300, endPort: 3310 }], true],
    [[{ port: 3306, protocol: "UDP" }], false],
    [[{ port: 80 }], false],
    [[{ protocol: "TCP" }], true],
  ])("ports %j cover mysql/3306: %s", (ports, expected) => {
    expect(coversPort(ports, { number: 3306, name: "mysql" })).toBe(expected);
  });
});

describe("static rules: the network", () => {
  it("network-policy: a policy for other pods does not count", () => {
    const dir = designWith({ "p.yaml": policy("  podSelector: {matchLabels: {app: web}}\n  ingress: []\n") });
    expect(findings(dir, "network-policy")).toHaveLength(1);
  });

  it("network-policy-isolates: podSelector {} alone admits the namespace's strangers, found at the entry's line", () => {
    const dir = designWith({ "p.yaml": policy("  podSelector: {matchLabels: {app: mysql}}\n  ingress:\n    - from:\n        - podSelector: {}\n") });
    const found = staticCheck(dir, options).filter((f) => f.rule === "network-policy-isolates");
    expect(found.map((f) => `${f.line} ${f.severity} ${f.message}`)).toEqual([
      "8 error NetworkPolicy p selects the MySQL pods, but its ingress rule 0 admits every pod of the policy's namespace (podSelector: {}) on port 3306: the isolation it declares is not there",
    ]);
    expect(findings(dir, "network-policy")).toEqual([]);
  });

  const service = (spec: string) => `apiVersion: v1
kind: Service
metadata: {name: mysql}
spec:
  selector: {app: mysql}
${spec}`;

  it.each([
    [
      "  type: NodePort\n  ports: [{port: 3306, nodePort: 30306}]\n",
      "warning Service mysql is of type NodePort: MySQL's port 3306 (node port 30306) is open on every node's address",
    ],
    [
      "  type: LoadBalancer\n  loadBalancerSourceRanges: [10.0.0.0/8]\n  ports: [{port: 3306, targetPort: mysql}]\n",
      "warning Service mysql is of type LoadBalancer: MySQL's port 3306 gets a load balancer's address outside the cluster, open to 10.0.0.0/8",
    ],
    ["  externalIPs: [203.0.113.7]\n  ports: [{port: 3306}]\n", "warning Service mysql carries MySQL's port 3306 on external addresses 203.0.113.7"],
  ])("mysql-service-exposed: %j", (spec, expected) => {
    expect(findings(designWith({ "mysql-service.yaml": service(spec) }), "mysql-service-exposed")).toEqual([expected]);
  });

  it("mysql-service-exposed: a NodePort Service of another port or other pods is not MySQL's", () => {
    const other = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 3306}]
---
apiVersion: v1
kind: Service
metadata: {name: metrics}
spec:
  type: NodePort
  selector: {app: mysql}
  ports: [{port: 9104}]
`;
    expect(findings(designWith({ "other.yaml": other }), "mysql-service-exposed")).toEqual([]);
  });
});

describe("where a pod's Secrets reach, and who uses them", () => {
  const spec: V1PodSpec = {
    containers: [
      {
        name: "mysql",
        env: [
          { name: "MYSQL_ROOT_PASSWORD", valueFrom: { secretKeyRef: { name: "creds", key: "root-password" } } },
          { name: "S3_KEY", valueFrom: { secretKeyRef: { name: "s3", key: "key" } } },
        ],
        volumeMounts: [{ name: "tls", mountPath: "/etc/mysql/tls" }],
      },
      {
        name: "backup",
        command: ["sh", "-c", `MYSQL_PWD="\${ROOT_PW}" mysqldump ...`],
        env: [{ name: "ROOT_PW", valueFrom: { secretKeyRef: { name: "creds", key: "root-password" } } }],
        volumeMounts: [{ name: "all-creds", mountPath: "/creds", readOnly: true }],
      },
      { name: "exporter", image: "exporter", envFrom: [{ secretRef: { name: "creds" }, prefix: "X_" }] },
    ],
    initContainers: [{ name: "init", command: ["true"], env: [{ name: "PW", valueFrom: { secretKeyRef: { name: "creds", key: "password" } } }] }],
    volumes: [
      { name: "tls", secret: { secretName: "mysql-tls", items: [{ key: "tls.crt", path: "tls.crt" }] } },
      { name: "all-creds", projected: { sources: [{ secret: { name: "creds" } }] } },
    ],
  };

  it("finds every channel: env, envFrom, Secret and projected volumes, init containers first", () => {
    expect(secretExposures(spec).map((e) => `${e.container} ${e.secret} ${e.keys?.join(",") ?? "*"} ${e.channel.kind} ${e.path.join(".")}`)).toEqual([
      "init creds password env initContainers.0.env.0",
      "mysql creds root-password env containers.0.env.0",
      "mysql s3 key env containers.0.env.1",
      "mysql mysql-tls tls.crt volume containers.0.volumeMounts.0",
      "backup creds root-password env containers.1.env.0",
      "backup creds * volume containers.1.volumeMounts.0",
      "exporter creds * envFrom containers.2.envFrom.0",
    ]);
  });

  it("judges each by what the container runs; the root password only where a command names it", () => {
    const unused = unusedSecrets(spec, {
      owner: "Deployment/mysql",
      databaseContainer: "mysql",
      rootPassword: { secret: "creds", key: "root-password" },
      configTexts: ["[mysqld]\nssl-cert=/etc/mysql/tls/tls.crt\n"],
    });
    expect(unused.map((u) => u.message)).toEqual([
      "Secret creds (key password) reaches init container init of Deployment/mysql through $PW, and nothing its command, args or probes run reads it",
      "Secret s3 (key key) reaches container mysql of Deployment/mysql through $S3_KEY, and neither its image's entrypoint (MYSQL_*, MARIADB_*) nor its command, args or probes read it",
      "the root password (Secret creds, key root-password) reaches container backup of Deployment/mysql through files under /creds, and nothing it runs reads it",
      "the root password (Secret creds, key root-password) reaches container exporter of Deployment/mysql through envFrom (every key a variable prefixed X_), and nothing it runs reads it",
    ]);
  });

  it.each([
    ["$PW", true],
    [`\${PW}`, true],
    [`\${PW:-x}`, true],
    ["$(PW)", true],
    ["$PWD", false],
    ["PW", false],
  ])("%s names PW: %s", (text, expected) => {
    expect(namesVariable(text, "PW")).toBe(expected);
  });

  it("reads every kind of pod the manifests make, with its spec's path", () => {
    const dir = designWith({
      "more.yaml": `apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  schedule: "@daily"
  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: x, image: y}]}}}}
---
apiVersion: v1
kind: Pod
metadata: {name: p, labels: {a: b}}
spec: {containers: [{name: x, image: y}]}
`,
    });
    expect(podTemplateViews(loadManifests(dir)).map((p) => `${p.owner} ${p.specPath.join(".")} ${JSON.stringify(p.labels)}`)).toEqual([
      "CronJob/c spec.jobTemplate.spec.template.spec {}",
      'Pod/p spec {"a":"b"}',
      'Deployment/mysql spec.template.spec {"app":"mysql"}',
    ]);
  });
});

describe("static rules: secrets in arguments", () => {
  it("a Secret's literal value in args is found and never printed", () => {
    const dir = designWith({});
    const path = join(dir, "mysql-deployment.yaml");
    writeFileSync(path, readFileSync(path, "utf8").replace("          ports:\n", '          args: ["--loose-x=conformance-root-pw"]\n          ports:\n'));
    const messages = findings(dir, "secret-in-arguments");
    expect(messages).toEqual([
      "error args[0] of container mysql of Deployment/mysql holds the value of Secret mysql-credentials, key root-password (not shown)",
    ]);
    expect(messages.join("\n")).not.toContain("conformance-root-pw");
  });

  it("$(VAR) of a plain variable is fine; the user name (a Secret's value, not a credential) is not a secret", () => {
    const dir = designWith({});
    const path = join(dir, "mysql-deployment.yaml");
    writeFileSync(
      path,
      readFileSync(path, "utf8").replace("          ports:\n", '          args: ["--init=$(MYSQL_DATABASE)", "--user-name=ecomuser"]\n          ports:\n'),
    );
    expect(findings(dir, "secret-in-arguments")).toEqual([]);
  });
});
