/** The database's credentials: read from a Secret the manifests define, only by the containers that use them, never in a process's arguments. */
import { isSecretName } from "../../redact.ts";
import type { LoadedObject } from "../load.ts";
import { containersOf, unusedSecrets } from "../secret-use.ts";
import { podTemplateViews } from "../views.ts";
import { rootPasswordSource } from "../workload.ts";
import { containerPath, type Rule } from "./rule.ts";

export const credentialsFromSecret: Rule = {
  id: "credentials-from-secret",
  severity: "error",
  explanation: "credentials in a manifest end up in Git, logs and kubectl output; the design keeps them in a Secret",
  fix: "use valueFrom.secretKeyRef for every password variable",
  check: (c) => {
    const w = c.workload;
    if (!w) return [];
    return (w.container.env ?? []).flatMap((e, i) =>
      isSecretName(e.name) && e.value !== undefined
        ? [
            {
              at: w.source,
              path: [...containerPath(w), "env", i, "value"],
              message: `${e.name} of container ${w.container.name} is a literal value (not shown) instead of a Secret reference`,
            },
          ]
        : [],
    );
  },
};

export const secretExists: Rule = {
  id: "secret-exists",
  severity: "warning",
  explanation: "a pod whose Secret does not exist never starts (CreateContainerConfigError)",
  fix: "add the Secret to the manifests, or make sure it exists where they are applied",
  check: (c) => {
    const w = c.workload;
    if (!w) return [];
    return (w.container.env ?? []).flatMap((e, i) => {
      const ref = e.valueFrom?.secretKeyRef;
      return ref && (ref.name === undefined || !c.secrets.has(ref.name))
        ? [
            {
              at: w.source,
              path: [...containerPath(w), "env", i, "valueFrom", "secretKeyRef", "name"],
              message: `${e.name} reads Secret "${ref.name}", which these manifests do not define`,
            },
          ]
        : [];
    });
  },
};

/** The values of the manifests' Secret keys named like credentials (root-password, password, token), decoded; never the user names. */
export function credentialValues(objects: readonly LoadedObject[]): { secret: string; key: string; value: string }[] {
  return objects.flatMap(({ object }) => {
    if (object.kind !== "Secret") return [];
    const plain = Object.entries((object.stringData as Record<string, unknown> | undefined) ?? {}).map(([key, v]) => ({ key, value: String(v) }));
    const encoded = Object.entries((object.data as Record<string, unknown> | undefined) ?? {}).map(([key, v]) => ({
      key,
      value: Buffer.from(String(v), "base64").toString("utf8"),
    }));
    return [...plain, ...encoded].filter((e) => isSecretName(e.key) && e.value.length >= 4).map((e) => ({ secret: object.metadata.name, ...e }));
  });
}

/** The keys of each Secret of the manifests. */
function secretKeys(objects: readonly LoadedObject[]): (secret: string) => string[] | undefined {
  const keys = new Map(
    objects
      .filter((o) => o.object.kind === "Secret")
      .map((o) => [o.object.metadata.name, [...Object.keys((o.object.stringData as object) ?? {}), ...Object.keys((o.object.data as object) ?? {})]]),
  );
  return (secret) => keys.get(secret);
}

export const secretOnlyWhereUsed: Rule = {
  id: "secret-only-where-used",
  severity: "warning",
  explanation:
    "a Secret handed to a container that does not read it can be read by whatever runs or execs there; the root password belongs to the database container and to clients whose own command reads it (src/manifests/secret-use.ts says what counts as reading)",
  fix: "remove the Secret from that container; give a client a MySQL user of its own, with only the privileges it needs, in a Secret of its own",
  check: (c) => {
    const w = c.workload;
    const source = w ? rootPasswordSource(w) : undefined;
    const rootPassword = source && "secret" in source ? source : undefined;
    const configTexts = c.objects
      .filter((o) => o.object.kind === "ConfigMap")
      .flatMap((o) => Object.values((o.object.data as Record<string, unknown> | undefined) ?? {}).map(String));
    const keysOf = secretKeys(c.objects);
    return podTemplateViews(c.objects).flatMap((pod) =>
      unusedSecrets(pod.spec, {
        owner: pod.owner,
        ...(w && pod.source === w.source ? { databaseContainer: w.container.name } : {}),
        ...(rootPassword ? { rootPassword } : {}),
        configTexts,
        keysOf,
      }).map((unused) => ({ at: pod.source, path: [...pod.specPath, ...unused.exposure.path], message: unused.message })),
    );
  },
};

export const secretNotInArguments: Rule = {
  id: "secret-in-arguments",
  severity: "error",
  explanation:
    "a process's arguments are public on its node: /proc/<pid>/cmdline of every process in the pod, ps on the node, and any log or event that echoes a command; Kubernetes substitutes $(VAR) into command and args before the process starts",
  fix: "pass the secret in the environment (env with secretKeyRef) or a file, and let the program read it there; never $(VAR) of a Secret, or the value itself, in command or args",
  check: (c) => {
    const values = credentialValues(c.objects);
    return podTemplateViews(c.objects).flatMap((pod) =>
      containersOf(pod.spec).flatMap(({ container, path }) =>
        (["command", "args"] as const).flatMap((field) =>
          (container[field] ?? []).flatMap((arg, i) => {
            if (typeof arg !== "string") return [];
            const at = { at: pod.source, path: [...pod.specPath, ...path, field, i] };
            const where = `${field}[${i}] of container ${container.name} of ${pod.owner}`;
            const expanded = [...arg.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)]
              .map((m) => m[1]!)
              .find((name) => {
                const variable = container.env?.find((e) => e.name === name);
                return variable && (variable.valueFrom?.secretKeyRef || (isSecretName(name) && variable.value !== undefined));
              });
            if (expanded) return [{ ...at, message: `${where} expands $(${expanded}), a secret: its value (not shown) is in the process's arguments` }];
            const literal = values.find((v) => arg.includes(v.value));
            return literal ? [{ ...at, message: `${where} holds the value of Secret ${literal.secret}, key ${literal.key} (not shown)` }] : [];
          }),
        ),
      ),
    );
  },
};
