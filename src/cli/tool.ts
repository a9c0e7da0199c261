import { existsSync, lstatSync } from "node:fs";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { DeployedSetup } from "../design/deployment.ts";
import { assertReachable } from "../kube/client.ts";
import { connectKubeconfig, KubeconfigError, readKubeconfig } from "../kube/kubeconfig.ts";
import { loadManifests, ManifestError } from "../manifests/load.ts";
import { secretValues } from "../manifests/secrets.ts";
import { projectRoot } from "../paths.ts";
import { applyRunSettings, readToolSettings, type ToolSettings } from "../run/settings.ts";
import { describeArgsError } from "./args.ts";
import { addSecrets } from "./redacted-output.ts";

/**
 * What the operator commands share: the cluster (--kubeconfig, KUBECONFIG or
 * ~/.kube/config), the namespace the design runs in, and the manifests that
 * say which workload, claim and Secret are MySQL's.
 */
export const commonUsage = `  --kubeconfig FILE  the cluster (default: KUBECONFIG, else ~/.kube/config)
  --namespace NS     where MySQL runs (default: the kubeconfig context's namespace, else default)
  --manifests DIR    the manifests that name the workload and claim (default: manifests/)
  --json             machine-readable output
  -h, --help         this text`;

const commonOptions = {
  kubeconfig: { type: "string" },
  namespace: { type: "string", short: "n" },
  manifests: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

/** Bad input: printed as one line, exit status 2. */
export class UsageError extends Error {}

export function parseToolArgs<T extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], extra: T, usage: string) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...commonOptions, ...extra }, allowPositionals: false });
  } catch (error) {
    throw new UsageError(`${describeArgsError(error)}\n\n${usage}`);
  }
  return parsed.values as { [K in keyof typeof commonOptions | keyof T]?: string | boolean };
}

export async function connectTool(
  values: {
    kubeconfig?: string | boolean;
    namespace?: string | boolean;
    manifests?: string | boolean;
  },
  settings: ToolSettings,
): Promise<DeployedSetup> {
  const path = (values.kubeconfig as string | undefined) ?? settings.kubeconfig ?? resolve(homedir(), ".kube/config");
  const isLink = (() => {
    try {
      return lstatSync(path).isSymbolicLink();
    } catch {
      return false;
    }
  })();
  if (!existsSync(path) && !isLink) throw new UsageError(`no kubeconfig at ${path}: pass --kubeconfig FILE or set KUBECONFIG`);
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
  const namespace = (values.namespace as string | undefined) ?? kube.config.getContextObject(kube.config.getCurrentContext())?.namespace ?? "default";
  let objects;
  try {
    objects = loadManifests(resolve((values.manifests as string | undefined) ?? `${projectRoot}/manifests`));
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
  if (!namespaceExists) throw new UsageError(`namespace ${namespace} does not exist on ${kube.server}: pass --namespace where MySQL runs`);
  return DeployedSetup.attach(kube, namespace, objects);
}

/** Runs a command's main, mapping bad input to exit 2 and failures to exit 1, with one clear line each. */
export function runTool(main: (settings: ToolSettings) => Promise<number>): void {
  const start = async () => {
    let settings: ToolSettings;
    try {
      settings = readToolSettings();
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    applyRunSettings(settings);
    return main(settings);
  };
  start().then(
    (code) => process.exit(code),
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`error: ${message}`);
      process.exit(error instanceof UsageError ? 2 : 1);
    },
  );
}

export function print(text: string): void {
  console.log(text);
}
