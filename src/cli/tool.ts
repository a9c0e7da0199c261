import { existsSync, lstatSync } from "node:fs";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { DeployedSetup } from "../design/deployment.ts";
import { assertReachable } from "../kube/client.ts";
import { connectKubeconfig, KubeconfigError, readKubeconfig } from "../kube/kubeconfig.ts";
import { loadManifests, ManifestError } from "../manifests/load.ts";
import { secretValues } from "../manifests/secrets.ts";
import { projectRoot } from "../paths.ts";
import { applyRunSettings, readToolSettings, type ToolSettings } from "../run/settings.ts";
import { exitStatusHelp, outputFormatHelp, parseOutputFormat, UsageError, type OutputFormat } from "./command.ts";
import { addSecrets } from "./redacted-output.ts";

/**
 * What the operator commands share: the cluster (--kubeconfig, KUBECONFIG or
 * ~/.kube/config), the namespace the design runs in, the manifests that say
 * which workload, claim and Secret are MySQL's, and the output format.
 */
export const clusterOptions = {
  kubeconfig: { type: "string" },
  namespace: { type: "string", short: "n" },
  manifests: { type: "string" },
  "output-format": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export const clusterUsage = `  --kubeconfig FILE  the cluster (default: KUBECONFIG, else ~/.kube/config)
  -n, --namespace NS where MySQL runs (default: the kubeconfig context's namespace, else default)
  --manifests DIR    the manifests that name the workload and claim (default: the
                     design's manifests this suite ships)
${outputFormatHelp(["text", "json"])}
  -h, --help         this text

Paths are relative to the directory you run the command in.
${exitStatusHelp}`;

/** The shared options, parsed and checked. */
export interface ClusterOptions {
  kubeconfig?: string;
  namespace?: string;
  manifests?: string;
  format: OutputFormat;
}

export function clusterOptionsOf(values: { kubeconfig?: string; namespace?: string; manifests?: string; "output-format"?: string }): ClusterOptions {
  return {
    ...(values.kubeconfig !== undefined ? { kubeconfig: resolve(values.kubeconfig) } : {}),
    ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
    ...(values.manifests !== undefined ? { manifests: resolve(values.manifests) } : {}),
    format: parseOutputFormat(values["output-format"], ["text", "json"]),
  };
}

/** The operator commands' part of the settings, read once; a malformed variable is bad input. */
export function toolSettings(): ToolSettings {
  let settings: ToolSettings;
  try {
    settings = readToolSettings();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  applyRunSettings(settings);
  return settings;
}

export async function connectTool(options: ClusterOptions, settings: ToolSettings): Promise<DeployedSetup> {
  const path = options.kubeconfig ?? settings.kubeconfig ?? resolve(homedir(), ".kube/config");
  const isLink = (() => {
    try {
      return lstatSync(path).isSymbolicLink();
    } catch {
      return false;
    }
  })();
  if (!existsSync(path) && !isLink) throw new UsageError(`no kubeconfig at ${path}`, "pass --kubeconfig FILE or set KUBECONFIG");
  let kube;
  try {
    const loaded = readKubeconfig(path);
    // From here on, whatever a command prints passes through redaction of the kubeconfig's credentials.
    addSecrets(loaded.secrets);
    kube = connectKubeconfig(loaded);
  } catch (error) {
    if (error instanceof KubeconfigError) throw new UsageError(error.message);
    throw error;
  }
  const namespace = options.namespace ?? kube.config.getContextObject(kube.config.getCurrentContext())?.namespace ?? "default";
  let objects;
  try {
    objects = loadManifests(options.manifests ?? `${projectRoot}/manifests`);
  } catch (error) {
    if (error instanceof ManifestError) throw new UsageError(error.message);
    throw error;
  }
  // Whatever a command prints passes through redaction: the manifests' secret values never show.
  addSecrets(secretValues(objects));
  try {
    await assertReachable(kube, path);
  } catch (error) {
    // A kubeconfig naming a cluster that cannot be reached is bad input, as in the conformance run.
    throw new UsageError((error as Error).message);
  }
  const namespaceExists = await kube.core.readNamespace({ name: namespace }).then(
    () => true,
    () => false,
  );
  if (!namespaceExists) throw new UsageError(`namespace ${namespace} does not exist on ${kube.server}`, "pass --namespace where MySQL runs");
  return DeployedSetup.attach(kube, namespace, objects);
}
