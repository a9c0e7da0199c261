/**
 * In transit ("At-rest and in-transit data encryption"): from a pod that
 * stands for the application (its labels, MySQL's image and its mysql
 * client, the root password from the design's Secret through the
 * environment), two connections through MySQL's Service: one that prefers
 * TLS (what the server offers: the session's Ssl_cipher and Ssl_version) and
 * one that refuses it (whether the server accepts plain text:
 * require_secure_transport).
 */
import { withHelperPod } from "../kube/claim-pod.ts";
import { describeApiError } from "../kube/client.ts";
import { execInPod } from "../kube/exec.ts";
import { redact } from "../redact.ts";
import type { DeployedSetup } from "../design/deployment.ts";
import { mysqlService } from "../ledger/writer.ts";
import { timeouts } from "../timeouts.ts";
import type { InTransitFacts, SessionOutcome } from "./security.ts";
import { probeLabels } from "./security-network.ts";

/** Which client the image has: MySQL's takes --ssl-mode, MariaDB's --ssl / --skip-ssl. */
export type ClientFlavor = "mysql" | "mariadb";

export const clientFlavor = (version: string): ClientFlavor => (/MariaDB/i.test(version) ? "mariadb" : "mysql");

/** The client's option for a connection that prefers TLS, or one that refuses it. */
export function tlsOption(flavor: ClientFlavor, tls: "preferred" | "disabled"): string {
  if (flavor === "mariadb") return tls === "preferred" ? "--ssl" : "--skip-ssl";
  return tls === "preferred" ? "--ssl-mode=PREFERRED" : "--ssl-mode=DISABLED";
}

/** What the session is asked: its cipher and protocol, and whether the server refuses plain connections. */
export const sessionQuery =
  "SHOW SESSION STATUS LIKE 'Ssl_cipher'; SHOW SESSION STATUS LIKE 'Ssl_version'; SELECT CONCAT('require_secure_transport=', @@GLOBAL.require_secure_transport)";

/**
 * The mysql client as root through host:port, the password from
 * $SC_ROOT_PASSWORD (never argv), giving up on a connection after
 * `connectTimeoutS` (a dropped SYN would otherwise hang it); host, port,
 * option and query are arguments, never spliced into the script.
 */
export function clientCommand(host: string, port: number, option: string, connectTimeoutS: number): string[] {
  return [
    "sh",
    "-c",
    'MYSQL_PWD="$SC_ROOT_PASSWORD" exec mysql -h "$1" -P "$2" -uroot --connect-timeout="$5" --batch --skip-column-names "$3" -e "$4"',
    "sh",
    host,
    String(port),
    option,
    sessionQuery,
    String(connectTimeoutS),
  ];
}

/** What the session said: its cipher (empty: not encrypted), protocol, and the server's require_secure_transport (ON/OFF). */
export function parseSession(stdout: string): { cipher: string; version: string; requireSecureTransport: string } {
  const value = (name: string) =>
    stdout
      .split("\n")
      .find((l) => l.startsWith(`${name}\t`))
      ?.slice(name.length + 1)
      .trim() ?? "";
  const raw = /require_secure_transport=(\S+)/.exec(stdout)?.[1] ?? "";
  const requireSecureTransport = raw === "1" || raw.toUpperCase() === "ON" ? "ON" : raw === "0" || raw.toUpperCase() === "OFF" ? "OFF" : raw || "unknown";
  return { cipher: value("Ssl_cipher"), version: value("Ssl_version"), requireSecureTransport };
}

/** Connects twice through MySQL's Service from a pod wearing the application's labels. */
export async function probeInTransit(setup: DeployedSetup): Promise<InTransitFacts> {
  const { kube, namespace } = setup;
  const mysqlPod = await setup.waitForReadyPod();
  const image = mysqlPod.spec!.containers.find((c) => c.name === setup.workload.container.name)!.image!;
  const { name, port } = mysqlService(setup);
  const service = await kube.core.readNamespacedService({ name, namespace }).catch((error: unknown) => {
    throw new Error(`reading Service ${name}: ${describeApiError(error)}`);
  });
  const host = service.spec?.clusterIP && service.spec.clusterIP !== "None" ? service.spec.clusterIP : name;
  const password = (await setup.rootCredentials()).password;
  return withHelperPod(
    kube,
    namespace,
    {
      purpose: "tls-client",
      container: {
        image,
        command: ["sleep", "600"],
        env: [setup.rootPasswordEnv("SC_ROOT_PASSWORD")],
        resources: { requests: { cpu: "10m", memory: "32Mi" } },
      },
      volumes: [],
      labels: probeLabels("application"),
      ...(mysqlPod.spec?.nodeName ? { nodeName: mysqlPod.spec.nodeName } : {}),
    },
    async (pod) => {
      const target = { namespace, pod, container: "helper" };
      const version = (await execInPod(kube, target, ["mysql", "--version"], { timeoutMs: timeouts.execMs })).stdout.trim();
      const flavor = clientFlavor(version);
      const session = async (tls: "preferred" | "disabled"): Promise<SessionOutcome> => {
        const connectTimeoutS = Math.max(1, Math.round(timeouts.mysqlConnectMs / 1000));
        const result = await execInPod(kube, target, clientCommand(host, port, tlsOption(flavor, tls), connectTimeoutS), { timeoutMs: timeouts.execMs });
        if (result.exitCode !== 0) {
          // The client never prints the password; the server's words are redacted all the same.
          return { connected: false, error: redact(result.stderr.trim().split("\n").slice(-2).join(" | ") || `exit ${result.exitCode}`, [password]) };
        }
        return { connected: true, ...parseSession(result.stdout) };
      };
      return {
        service: `Service ${name} (${host}:${port})`,
        client: version.split("\n")[0] ?? "mysql",
        preferred: await session("preferred"),
        plain: await session("disabled"),
      };
    },
  );
}
