import { existsSync, readFileSync } from "node:fs";
import { K3sContainer, type StartedK3sContainer } from "@testcontainers/k3s";
import { getContainerRuntimeClient } from "testcontainers";
import type { HostConfig } from "dockerode";
import { boundingSetOf, missingCapabilities } from "./capabilities.ts";
import { managedBy, runLabel } from "../labels.ts";
import { probePrivilegedMode } from "./docker.ts";

export interface PrivilegedAdaptation {
  adapted: boolean;
  /** What privileged mode was replaced by, or why it was kept. */
  detail: string;
}

/**
 * @testcontainers/k3s's K3sContainer, unchanged except where the Docker engine
 * cannot grant privileged mode (adaptPrivilegedMode).
 */
export class NodeContainer extends K3sContainer {
  constructor(image: string, runId: string) {
    super(image);
    this.withLabels({ ...managedBy, [runLabel]: runId });
  }

  adaptPrivilegedMode(reason: string): PrivilegedAdaptation {
    return adaptPrivilegedMode(this.hostConfig, reason);
  }
}

/**
 * Privileged mode where the engine refuses it: every capability the machine
 * has, with seccomp, AppArmor and the masked /proc and /sys paths unconfined,
 * which is what a node needs from "privileged". Changes `hostConfig` in place.
 */
export function adaptPrivilegedMode(hostConfig: HostConfig, reason: string): PrivilegedAdaptation {
  const status = existsSync("/proc/self/status") ? readFileSync("/proc/self/status", "utf8") : "";
  const bounding = boundingSetOf(status);
  const missing = bounding ? missingCapabilities(bounding) : ["SYS_RESOURCE"];
  hostConfig.Privileged = false;
  hostConfig.CapAdd = ["ALL"];
  hostConfig.CapDrop = missing;
  hostConfig.SecurityOpt = ["seccomp=unconfined", "apparmor=unconfined"];
  // `--security-opt systempaths=unconfined` in the CLI: nothing masked or read-only in /proc and /sys.
  hostConfig.MaskedPaths = [];
  hostConfig.ReadonlyPaths = [];
  // kubelet's OOM watcher reads /dev/kmsg; the lazy storage layer (the power cut's) mounts FUSE;
  // the CSI driver attaches its volumes to loop devices, whose nodes it makes as it needs them.
  hostConfig.Devices = ["/dev/kmsg", "/dev/fuse", "/dev/loop-control"]
    .filter((device) => existsSync(device))
    .map((device) => ({ PathOnHost: device, PathInContainer: device, CgroupPermissions: "rwm" }));
  hostConfig.DeviceCgroupRules = ["b 7:* rwm", "c 10:237 rwm"];
  return {
    adapted: true,
    detail: `privileged mode is refused here (${reason}); running with every capability but ${missing.join(", ")}, seccomp/apparmor/systempaths unconfined`,
  };
}

export async function startNodeContainer(image: string, runId: string): Promise<{ container: StartedK3sContainer; privileged: PrivilegedAdaptation }> {
  const node = new NodeContainer(image, runId);
  // The kubeconfig names the Docker host as testcontainers reaches it (localhost
  // on a laptop, the bridge gateway when this runs inside a container): that
  // name must be in the apiserver's certificate, as `--tls-san` does in k3s.
  const { host } = (await getContainerRuntimeClient()).info.containerRuntime;
  node.withCommand(["server", "--disable=traefik", `--tls-san=${host}`]);
  const probe = await probePrivilegedMode(image);
  const privileged = probe.works ? { adapted: false, detail: `privileged (${probe.reason})` } : node.adaptPrivilegedMode(probe.reason);
  return { container: await node.start(), privileged };
}
