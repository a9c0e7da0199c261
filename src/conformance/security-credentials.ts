/**
 * "Secret-based credential management" at run time: the credentials come
 * from a Secret (the static rules check that), and here, where they end up
 * once the pods run: in no container's arguments or literal environment, no
 * process's command line (/proc/<pid>/cmdline, what ps shows), no pod or
 * workload annotation, no event, no container log; and the Secret reaches
 * only the containers that use it (manifests/secret-use.ts says what that
 * means). The credentials are read from the cluster into memory, searched
 * for, and never written anywhere: every finding names the place, not the value.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { describeApiError } from "../kube/client.ts";
import { execInPod } from "../kube/exec.ts";
import { nameOf } from "../kube/names.ts";
import { isSecretName, redact } from "../redact.ts";
import { selects } from "../manifests/network.ts";
import { containersOf, unusedSecrets } from "../manifests/secret-use.ts";
import { rootPasswordSource } from "../manifests/workload.ts";
import type { DeployedSetup } from "../design/deployment.ts";
import { timeouts } from "../timeouts.ts";

/** A credential the pods must not show: its label (never its value) and its value. */
export interface Credential {
  label: string;
  value: string;
}

/** A text the cluster shows, and where. */
export interface Place {
  where: string;
  text: string;
}

/** The forms a credential takes in text: itself, and base64 (an annotation holding an object's data). */
export const credentialForms = (value: string): string[] => [value, Buffer.from(value, "utf8").toString("base64")];

/** Where each credential appears among the places (credentials shorter than 4 characters are not searched: they would match anything). */
export function sightings(places: readonly Place[], credentials: readonly Credential[]): { where: string; credential: string }[] {
  return places.flatMap((place) =>
    credentials
      .filter((c) => c.value.length >= 4 && credentialForms(c.value).some((form) => place.text.includes(form)))
      .map((c) => ({ where: place.where, credential: c.label })),
  );
}

/** Prints "<pid>\t<argv joined by spaces>" for every process the container sees. */
export const cmdlineCommand: string[] = [
  "sh",
  "-c",
  `for f in /proc/[0-9]*/cmdline; do p=\${f#/proc/}; printf '%s\\t' "\${p%/cmdline}"; tr '\\000' ' ' < "$f" 2>/dev/null; echo; done`,
];

/** The processes cmdlineCommand printed: pid, program (argv[0]'s base name) and the whole command line. */
export function parseCmdlines(output: string): { pid: string; program: string; text: string }[] {
  return output.split("\n").flatMap((line) => {
    const match = /^(\d+)\t(.*)$/.exec(line);
    if (!match) return [];
    const text = match[2]!.trim();
    return text ? [{ pid: match[1]!, program: (text.split(" ")[0] ?? "").replace(/^.*\//, ""), text }] : [];
  });
}

export interface CredentialFacts {
  /** What was searched for ("the root password", "$MYSQL_PASSWORD (Secret mysql-credentials, key password)"). */
  credentials: string[];
  /** How many places of each kind were searched. */
  searched: Record<"container specs" | "processes" | "annotations" | "events" | "logs", number>;
  sightings: { where: string; credential: string }[];
  /** Containers whose processes could not be listed, and why. */
  unreadable: string[];
  /** Secrets reaching containers that do not use them. */
  unused: { root: boolean; message: string }[];
}

/** The database container's credentials as the cluster holds them: every secret-named variable, from its Secret or its literal. */
async function credentialsOf(setup: DeployedSetup): Promise<Credential[]> {
  const secrets = new Map<string, Record<string, string>>();
  const credentials: Credential[] = [];
  for (const variable of setup.workload.container.env ?? []) {
    if (!isSecretName(variable.name)) continue;
    const ref = variable.valueFrom?.secretKeyRef;
    const label = variable.name === "MYSQL_ROOT_PASSWORD" ? "the root password" : `$${variable.name}`;
    if (variable.value) credentials.push({ label: `${label} (a literal in the manifest)`, value: variable.value });
    if (!ref?.name) continue;
    if (!secrets.has(ref.name)) {
      const secret = await setup.kube.core.readNamespacedSecret({ name: ref.name, namespace: setup.namespace }).catch((error: unknown) => {
        throw new Error(`reading Secret ${ref.name}: ${describeApiError(error)}`);
      });
      secrets.set(ref.name, secret.data ?? {});
    }
    const encoded = secrets.get(ref.name)![ref.key];
    if (encoded !== undefined)
      credentials.push({ label: `${label} (Secret ${ref.name}, key ${ref.key})`, value: Buffer.from(encoded, "base64").toString("utf8") });
  }
  return credentials;
}

/** Every container's spec fields, annotations and logs of a pod, as places. */
async function podPlaces(setup: DeployedSetup, pod: V1Pod): Promise<{ specs: Place[]; annotations: Place[]; logs: Place[] }> {
  const name = nameOf(pod);
  const specs = containersOf(pod.spec!).map(({ container }) => ({
    where: `pod ${name} container ${container.name}: command, args and literal environment`,
    text: [...(container.command ?? []), ...(container.args ?? []), ...(container.env ?? []).map((e) => e.value ?? "")].join("\n"),
  }));
  const annotations = [{ where: `pod ${name}: annotations`, text: JSON.stringify(pod.metadata?.annotations ?? {}) }];
  const logs: Place[] = [];
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const status of statuses) {
    for (const previous of status.restartCount > 0 ? [false, true] : [false]) {
      const text = await setup.kube.core.readNamespacedPodLog({ name, namespace: setup.namespace, container: status.name, previous }).catch(() => undefined);
      if (text !== undefined) logs.push({ where: `the log of pod ${name} container ${status.name}${previous ? " (previous run)" : ""}`, text });
    }
  }
  return { specs, annotations, logs };
}

/** The command lines of every process of each running container of the pod. */
async function processPlaces(setup: DeployedSetup, pod: V1Pod): Promise<{ places: Place[]; unreadable: string[] }> {
  const name = nameOf(pod);
  const places: Place[] = [];
  const unreadable: string[] = [];
  for (const status of pod.status?.containerStatuses ?? []) {
    if (!status.state?.running) continue;
    const result = await execInPod(setup.kube, { namespace: setup.namespace, pod: name, container: status.name }, cmdlineCommand, {
      timeoutMs: timeouts.execMs,
    }).catch((error: Error) => ({ exitCode: -1, stdout: "", stderr: error.message }));
    const processes = parseCmdlines(result.stdout);
    if (processes.length === 0) unreadable.push(`pod ${name} container ${status.name}: ${result.stderr.trim().split("\n")[0] || `exit ${result.exitCode}`}`);
    for (const p of processes) places.push({ where: `pod ${name} container ${status.name}: the arguments of process ${p.pid} (${p.program})`, text: p.text });
  }
  return { places, unreadable };
}

/** Looks for the database's credentials wherever the namespace's pods, events and logs show text, and for Secrets handed to containers that do not use them. */
export async function inspectCredentials(setup: DeployedSetup): Promise<CredentialFacts> {
  const { kube, namespace, workload } = setup;
  await setup.waitForReadyPod();
  const credentials = await credentialsOf(setup);
  const pods = (await kube.core.listNamespacedPod({ namespace })).items;
  const places: Record<keyof CredentialFacts["searched"], Place[]> = { "container specs": [], processes: [], annotations: [], events: [], logs: [] };
  const unreadable: string[] = [];
  for (const pod of pods) {
    const { specs, annotations, logs } = await podPlaces(setup, pod);
    places["container specs"].push(...specs);
    places.annotations.push(...annotations);
    places.logs.push(...logs);
    const processes = await processPlaces(setup, pod);
    places.processes.push(...processes.places);
    unreadable.push(...processes.unreadable);
  }
  const owner =
    workload.kind === "Deployment"
      ? await kube.apps.readNamespacedDeployment({ name: workload.name, namespace }).catch(() => undefined)
      : await kube.apps.readNamespacedStatefulSet({ name: workload.name, namespace }).catch(() => undefined);
  if (owner) places.annotations.push({ where: `${workload.kind}/${workload.name}: annotations`, text: JSON.stringify(owner.metadata?.annotations ?? {}) });
  for (const event of (await kube.core.listNamespacedEvent({ namespace })).items) {
    places.events.push({
      where: `event ${event.reason ?? "?"} on ${event.involvedObject.kind}/${event.involvedObject.name}`,
      text: [event.message, event.reason].filter(Boolean).join("\n"),
    });
  }
  const source = rootPasswordSource(workload);
  const configTexts = setup.objects
    .filter((o) => o.object.kind === "ConfigMap")
    .flatMap((o) => Object.values((o.object.data as Record<string, unknown> | undefined) ?? {}).map(String));
  const unused = pods.flatMap((pod) =>
    unusedSecrets(pod.spec!, {
      owner: `pod ${nameOf(pod)}`,
      ...(selects({ matchLabels: workload.selector }, pod.metadata?.labels ?? {}) ? { databaseContainer: workload.container.name } : {}),
      ...(source && "secret" in source ? { rootPassword: source } : {}),
      configTexts,
    }).map((u) => ({ root: u.root, message: u.message })),
  );
  const values = credentials.map((c) => c.value);
  return {
    credentials: credentials.map((c) => c.label),
    searched: Object.fromEntries(Object.entries(places).map(([kind, list]) => [kind, list.length])) as CredentialFacts["searched"],
    sightings: sightings(Object.values(places).flat(), credentials),
    // Never a credential in a message, whatever a container printed.
    unreadable: unreadable.map((u) => redact(u, values)),
    unused,
  };
}
