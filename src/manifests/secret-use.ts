/**
 * Where a pod's Secrets reach, and whether the container that gets one uses
 * it. Pure, over client-node's V1PodSpec: the static rule
 * (rules/credentials.ts) reads the manifests' pod templates with it and the
 * live credentials check (conformance/security-credentials.ts) the pods the
 * cluster runs.
 *
 * What "uses" means, precisely (the manifests cannot show more):
 * - the database container uses the variables its image's entrypoint reads
 *   (MYSQL_* and MARIADB_*, the official images' contract) and whatever any
 *   other container may be seen to use;
 * - a container uses a variable its command, args, exec probes or lifecycle
 *   hooks name ($VAR, ${VAR}, or Kubernetes' $(VAR)), and a mounted Secret
 *   whose mount path they (or its environment, or a ConfigMap it mounts) name;
 * - a container that runs its image's own entrypoint (no command, no args) is
 *   taken to use what it is given: its image's contract is not in the
 *   manifests. Except the root password: outside the database container it is
 *   used only where a command names it, so a sidecar that "might" read it is
 *   still told to get a user of its own.
 */
import type { V1Container, V1EnvVar, V1PodSpec } from "@kubernetes/client-node";
import type { FieldPath } from "./views.ts";

/** How a Secret reaches a container. */
export type SecretChannel = { kind: "env"; variable: string } | { kind: "envFrom"; prefix: string } | { kind: "volume"; mountPath: string };

export interface SecretExposure {
  container: string;
  /** An init container (it runs before the others, and ends). */
  init: boolean;
  secret: string;
  /** The keys it gets; undefined: every key of the Secret (envFrom, a whole Secret volume). */
  keys?: string[];
  channel: SecretChannel;
  /** The exposing field's path under the pod spec (["containers", 1, "env", 0]). */
  path: FieldPath;
}

/** The pod's containers, init containers first, with their path under the pod spec. */
export function containersOf(spec: V1PodSpec): { container: V1Container; init: boolean; path: FieldPath }[] {
  return [
    ...(spec.initContainers ?? []).map((container, i) => ({ container, init: true, path: ["initContainers", i] as FieldPath })),
    ...(spec.containers ?? []).map((container, i) => ({ container, init: false, path: ["containers", i] as FieldPath })),
  ];
}

/** The Secrets a volume of the pod carries, with the keys when it lists them. */
function secretsOfVolume(spec: V1PodSpec, name: string): { secret: string; keys?: string[] }[] {
  const volume = spec.volumes?.find((v) => v.name === name);
  if (!volume) return [];
  const keysOf = (items: { key: string }[] | undefined) => (items?.length ? { keys: items.map((i) => i.key) } : {});
  if (volume.secret?.secretName) return [{ secret: volume.secret.secretName, ...keysOf(volume.secret.items) }];
  return (volume.projected?.sources ?? []).flatMap((s) => (s.secret?.name ? [{ secret: s.secret.name, ...keysOf(s.secret.items) }] : []));
}

/** Every way a Secret reaches a container of the pod: env secretKeyRef, envFrom secretRef, a mounted Secret (or projected) volume. */
export function secretExposures(spec: V1PodSpec): SecretExposure[] {
  return containersOf(spec).flatMap(({ container, init, path }) => {
    const base = { container: container.name, init };
    const env = (container.env ?? []).flatMap((e: V1EnvVar, i): SecretExposure[] => {
      const ref = e.valueFrom?.secretKeyRef;
      return ref?.name ? [{ ...base, secret: ref.name, keys: [ref.key], channel: { kind: "env", variable: e.name }, path: [...path, "env", i] }] : [];
    });
    const envFrom = (container.envFrom ?? []).flatMap((e, i): SecretExposure[] =>
      e.secretRef?.name ? [{ ...base, secret: e.secretRef.name, channel: { kind: "envFrom", prefix: e.prefix ?? "" }, path: [...path, "envFrom", i] }] : [],
    );
    const mounts = (container.volumeMounts ?? []).flatMap((m, i): SecretExposure[] =>
      secretsOfVolume(spec, m.name).map((s) => ({ ...base, ...s, channel: { kind: "volume", mountPath: m.mountPath }, path: [...path, "volumeMounts", i] })),
    );
    return [...env, ...envFrom, ...mounts];
  });
}

/** What a container's definition runs, as text: command, args, exec probes and lifecycle hooks. */
export function commandText(container: V1Container): string {
  const execs = [
    container.readinessProbe,
    container.livenessProbe,
    container.startupProbe,
    container.lifecycle?.postStart,
    container.lifecycle?.preStop,
  ].flatMap((handler) => handler?.exec?.command ?? []);
  return [...(container.command ?? []), ...(container.args ?? []), ...execs].join("\n");
}

/** Whether `text` reads the variable: $VAR, ${VAR...} or Kubernetes' $(VAR). */
export function namesVariable(text: string, variable: string): boolean {
  const escaped = variable.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`\\$(${escaped}(?![A-Za-z0-9_])|\\{${escaped}(?![A-Za-z0-9_])|\\(${escaped}\\))`).test(text);
}

/** The variables the official mysql and mariadb images' entrypoints read. */
const entrypointVariable = /^(MYSQL|MARIADB)_/;

const runsImageEntrypoint = (c: V1Container): boolean => !c.command?.length && !c.args?.length;

/** Whether the container reads this exposure, by the definition above. `keysOf` gives a Secret's keys when the caller knows them (an envFrom becomes PREFIX+KEY variables). */
export function exposureUsed(
  container: V1Container,
  exposure: SecretExposure,
  context: { isDatabase: boolean; configTexts?: readonly string[]; keysOf?: (secret: string) => string[] | undefined },
): boolean {
  const text = commandText(container);
  const { channel } = exposure;
  if (channel.kind === "env") {
    if (context.isDatabase && entrypointVariable.test(channel.variable)) return true;
    return namesVariable(text, channel.variable) || (!context.isDatabase && runsImageEntrypoint(container));
  }
  if (channel.kind === "envFrom") {
    if (context.isDatabase || runsImageEntrypoint(container)) return true;
    const keys = context.keysOf?.(exposure.secret);
    return keys === undefined || keys.some((k) => namesVariable(text, `${channel.prefix}${k}`));
  }
  const mount = channel.mountPath.replace(/\/+$/, "");
  const texts = [text, ...(container.env ?? []).map((e) => e.value ?? ""), ...(context.isDatabase ? (context.configTexts ?? []) : [])];
  return texts.some((t) => t.includes(mount)) || (!context.isDatabase && runsImageEntrypoint(container));
}

/** Whether the exposure carries `key` of `secret` (the root password's, say). */
export const carries = (exposure: SecretExposure, secret: string, key: string): boolean =>
  exposure.secret === secret && (exposure.keys === undefined || exposure.keys.includes(key));

/** Whether a container other than the database's reads the root password it is given: only where its own commands name it. */
export function rootPasswordUsed(container: V1Container, exposure: SecretExposure, key: string): boolean {
  const text = commandText(container);
  const { channel } = exposure;
  if (channel.kind === "env") return namesVariable(text, channel.variable);
  if (channel.kind === "envFrom") return namesVariable(text, `${channel.prefix}${key}`);
  return text.includes(channel.mountPath.replace(/\/+$/, ""));
}

/** "$MYSQL_ROOT_PASSWORD", "envFrom (every key a variable)", "files under /etc/creds": what follows "reaches ... through". */
export function channelLabel(channel: SecretChannel): string {
  if (channel.kind === "env") return `$${channel.variable}`;
  if (channel.kind === "envFrom") return `envFrom (every key a variable${channel.prefix ? ` prefixed ${channel.prefix}` : ""})`;
  return `files under ${channel.mountPath}`;
}

/** A Secret that reaches a container which does not use it. */
export interface UnusedSecret {
  exposure: SecretExposure;
  /** It carries the root password. */
  root: boolean;
  message: string;
}

/**
 * The Secrets of a pod that reach containers which do not use them, by the
 * definition above. `databaseContainer` names the database's container when
 * this is the database's pod; `rootPassword` is where the database's root
 * password comes from (its Secret and key).
 */
export function unusedSecrets(
  spec: V1PodSpec,
  context: {
    owner: string;
    databaseContainer?: string;
    rootPassword?: { secret: string; key: string };
    configTexts?: readonly string[];
    keysOf?: (secret: string) => string[] | undefined;
  },
): UnusedSecret[] {
  const containers = new Map(containersOf(spec).map((c) => [c.container.name, c.container]));
  return secretExposures(spec).flatMap((exposure): UnusedSecret[] => {
    const container = containers.get(exposure.container)!;
    const isDatabase = !exposure.init && exposure.container === context.databaseContainer;
    const what = `${exposure.init ? "init container" : "container"} ${exposure.container} of ${context.owner}`;
    const keys = exposure.keys ? ` (key ${exposure.keys.join(", ")})` : exposure.channel.kind === "envFrom" ? "" : " (every key)";
    const root = context.rootPassword;
    if (!isDatabase && root && carries(exposure, root.secret, root.key)) {
      return rootPasswordUsed(container, exposure, root.key)
        ? []
        : [
            {
              exposure,
              root: true,
              message: `the root password (Secret ${root.secret}, key ${root.key}) reaches ${what} through ${channelLabel(exposure.channel)}, and nothing it runs reads it`,
            },
          ];
    }
    if (exposureUsed(container, exposure, { isDatabase, configTexts: context.configTexts, keysOf: context.keysOf })) return [];
    const reader = isDatabase
      ? "neither its image's entrypoint (MYSQL_*, MARIADB_*) nor its command, args or probes read it"
      : "nothing its command, args or probes run reads it";
    return [{ exposure, root: false, message: `Secret ${exposure.secret}${keys} reaches ${what} through ${channelLabel(exposure.channel)}, and ${reader}` }];
  });
}
