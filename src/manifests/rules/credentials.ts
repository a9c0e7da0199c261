/** The database's credentials: read from a Secret, one the manifests define. */
import { isSecretName } from "../../redact.ts";
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
