import { randomBytes } from "node:crypto";
import { managedBy } from "../labels.ts";
import type { V1Pod } from "@kubernetes/client-node";
import { execChecked } from "../kube/exec.ts";
import { pollIntervals, timeouts } from "../timeouts.ts";
import { WaitError, waitFor } from "../kube/wait.ts";
import type { DeployedSetup } from "../design/deployment.ts";
import { secondsSince } from "../clock.ts";
import { nameOf } from "../kube/names.ts";

export interface MountFacts {
  mountPoint: string;
  /** The source of the mount as the kernel reports it (mountinfo's root field). */
  source: string;
  /** The mounted filesystem's device (major:minor) and source (e.g. /dev/loop3). */
  device: string;
  deviceSource: string;
  fsType: string;
  dataFiles: string[];
  marker: { file: string; content: string };
}

/** The mountinfo entry for `mountPoint`, if anything is mounted exactly there. */
export function findMount(
  mountinfo: string,
  mountPoint: string,
): { root: string; fsType: string; options: string; device: string; source: string } | undefined {
  for (const line of mountinfo.split("\n")) {
    const [left, right] = line.split(" - ");
    const fields = left?.split(" ") ?? [];
    if (fields[4] === mountPoint && right) {
      const [fsType, source, superOptions] = right.split(" ");
      return { root: fields[3]!, fsType: fsType!, options: `${fields[5]},${superOptions ?? ""}`, device: fields[2]!, source: source ?? "" };
    }
  }
  return undefined;
}

/**
 * Whether a mount is the claim's volume as the pod sees it: a hostPath or
 * local volume is a directory of the node's filesystem (the root names the
 * volume or is its path); a CSI volume that is a filesystem of its own (a
 * block device, as conformance-csi's loop-backed xfs) is mounted whole, root
 * "/", from a device. Which volume that device is, is checked from outside
 * the pod (the node's kubelet directory of the volume, or a second pod).
 */
export function mountIsClaim(mount: { root: string; source: string }, volume: { name: string; path?: string; csiDriver?: string }): boolean {
  if (mount.root.includes(volume.name) || (volume.path !== undefined && mount.root === volume.path)) return true;
  return volume.csiDriver !== undefined && mount.root === "/" && mount.source.startsWith("/dev/");
}

/** Where the kubelet publishes a CSI volume for a pod: the directory bind-mounted into its containers. */
export function kubeletCsiPath(podUid: string, volumeName: string): string {
  return `/var/lib/kubelet/pods/${podUid}/volumes/kubernetes.io~csi/${volumeName}/mount`;
}

/**
 * In the running pod: the data directory is a mount of the claim's volume (not
 * the container's own filesystem), writable, and holds MySQL's data files.
 * Leaves a marker file for the outside-the-pod check.
 */
export async function verifyLiveMount(setup: DeployedSetup, pod: V1Pod, volume: { name: string; path?: string; csiDriver?: string }): Promise<MountFacts> {
  const dataDir = setup.dataDir;
  const target = { namespace: setup.namespace, pod: nameOf(pod), container: setup.workload.container.name };
  const run = (command: string[]) => execChecked(setup.kube, target, command, timeouts.execMs);
  const mount = findMount(await run(["cat", "/proc/self/mountinfo"]), dataDir);
  if (!mount) throw new Error(`nothing is mounted at ${dataDir} in pod ${target.pod}: MySQL's data lives in the container's own filesystem and dies with it`);
  const fromClaim = mountIsClaim(mount, volume);
  if (!fromClaim && /\/containers\/[0-9a-f]{16,}\/volumes\//.test(mount.root)) {
    // containerd's image volumes: the mysql image declares VOLUME /var/lib/mysql.
    throw new Error(
      `${dataDir} in pod ${target.pod} is the anonymous volume the image declares (VOLUME ${dataDir}), not the claim's volume ${volume.name}: ` +
        `it lives and dies with the container (${mount.root})`,
    );
  }
  if (!fromClaim) {
    throw new Error(
      `${dataDir} in pod ${target.pod} is mounted from ${mount.root} of ${mount.source} (${mount.fsType}), not from the claim's volume ${volume.name}${volume.path ? ` at ${volume.path}` : ""}${volume.csiDriver ? ` (a ${volume.csiDriver} volume, expected mounted whole from a device)` : ""}`,
    );
  }
  if (/(^|,)ro(,|$)/.test(mount.options.split(",")[0] ?? "")) throw new Error(`${dataDir} in pod ${target.pod} is mounted read-only`);
  const marker = { file: `.storage-conformance-${randomBytes(4).toString("hex")}`, content: `written through pod ${target.pod}` };
  await run(["sh", "-c", `printf '%s' '${marker.content}' > '${dataDir}/${marker.file}'`]);
  const listing = (await run(["ls", "-A", dataDir])).split(/\s+/).filter(Boolean);
  const expected = ["mysql", "ibdata1"];
  const missing = expected.filter((f) => !listing.includes(f));
  if (missing.length)
    throw new Error(`${dataDir} in pod ${target.pod} lacks MySQL's data files ${missing.join(", ")} (it holds: ${listing.slice(0, 15).join(", ")})`);
  return {
    mountPoint: dataDir,
    source: mount.root,
    device: mount.device,
    deviceSource: mount.source,
    fsType: mount.fsType,
    dataFiles: listing.filter((f) => !f.startsWith(".storage-conformance")),
    marker,
  };
}

export interface SecondPodProbe {
  /** The second pod mounted the claim and read the marker while MySQL's pod was running. */
  concurrent: boolean;
  /** What the second pod printed, or why it did not run. */
  detail: string;
  seconds: number;
}

/**
 * Starts a second pod on the MySQL pod's node that mounts the same claim (read-only)
 * and prints the marker. The design says ReadWriteOnce prevents concurrent access;
 * this shows whether it does. It also reads the marker from outside MySQL's pod on
 * any cluster. Uses the workload's own image, which the node already has.
 */
export async function probeSecondPod(
  setup: DeployedSetup,
  mysqlPod: V1Pod,
  marker: { file: string; content: string },
  deadlineMs = timeouts.secondPodMs,
): Promise<SecondPodProbe> {
  const { kube, namespace } = setup;
  const name = `second-reader-${randomBytes(3).toString("hex")}`;
  const image = mysqlPod.spec!.containers.find((c) => c.name === setup.workload.container.name)!.image!;
  const started = performance.now();
  await kube.core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, labels: { ...managedBy } },
      spec: {
        // Through the scheduler, onto MySQL's node: ReadWriteOncePod is the scheduler's to enforce,
        // so a pod placed with nodeName would bypass exactly what is checked.
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: [mysqlPod.spec!.nodeName!] }] }],
            },
          },
        },
        restartPolicy: "Never",
        terminationGracePeriodSeconds: 0,
        containers: [
          {
            name: "reader",
            image,
            imagePullPolicy: "IfNotPresent",
            command: ["sh", "-c", `cat '/probe/${marker.file}'`],
            volumeMounts: [{ name: "data", mountPath: "/probe", readOnly: true }],
          },
        ],
        volumes: [{ name: "data", persistentVolumeClaim: { claimName: setup.claimName, readOnly: true } }],
      },
    },
  });
  try {
    // The pod ran (or was refused) or the deadline passed: either way a fact to report, not a failure of the wait.
    let pod: V1Pod | undefined;
    await waitFor(
      async () => {
        pod = await kube.core.readNamespacedPod({ name, namespace });
        return pod;
      },
      (seen) => seen.status?.phase === "Succeeded" || seen.status?.phase === "Failed",
      {
        what: `the second pod ${name} to run`,
        timeoutMs: Math.max(0, deadlineMs - (performance.now() - started)),
        intervalMs: pollIntervals.podMs,
        signal: kube.signal,
      },
    ).catch((error: unknown) => {
      if (!(error instanceof WaitError)) throw error;
    });
    const seconds = secondsSince(started);
    const phase = pod?.status?.phase ?? "unknown";
    if (phase !== "Succeeded" && phase !== "Failed") {
      const waiting = pod?.status?.containerStatuses?.[0]?.state?.waiting;
      // A claim that keeps a second pod out (ReadWriteOncePod) says so in the scheduler's words.
      const unscheduled = pod?.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False")?.message;
      return {
        concurrent: false,
        seconds,
        detail: `the second pod did not run within ${deadlineMs / 1000} s (phase ${phase}${waiting ? `, ${waiting.reason}: ${waiting.message ?? ""}` : ""}${unscheduled ? `; not scheduled: ${unscheduled}` : ""})`,
      };
    }
    const log = await kube.core.readNamespacedPodLog({ name, namespace, container: "reader" }).catch(() => "");
    if (phase === "Succeeded" && log.trim() === marker.content)
      return {
        concurrent: true,
        seconds,
        detail: `pod ${name} on node ${mysqlPod.spec!.nodeName} read the marker while ${mysqlPod.metadata!.name} was running`,
      };
    return { concurrent: false, seconds, detail: `the second pod ended ${phase} and printed ${JSON.stringify(log.trim().slice(0, 200))}, not the marker` };
  } finally {
    await kube.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
  }
}
