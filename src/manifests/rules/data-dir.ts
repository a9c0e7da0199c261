/** Where MySQL's data lives: a workload runs MySQL, and its data directory is a writable claim. */
import { podSpecPath } from "../views.ts";
import { datadirArgument, isWithin } from "../workload.ts";
import { containerPath, type Rule } from "./rule.ts";

export const databaseWorkload: Rule = {
  id: "database-workload",
  severity: "error",
  explanation: "the manifests must run MySQL: a Deployment or StatefulSet whose container mounts the data directory or runs a MySQL image",
  fix: "add the MySQL Deployment, or point --manifests at the directory that has it",
  check: (c) =>
    c.workload
      ? []
      : [
          {
            at: c.objects[0]!,
            path: [],
            message: `no Deployment or StatefulSet runs MySQL (none mounts ${c.options.dataDir} or runs a mysql/mariadb image)`,
          },
        ],
};

export const dataDirOnClaim: Rule = {
  id: "data-dir-on-claim",
  severity: "error",
  explanation: "MySQL's data survives a pod only on a PersistentVolumeClaim; emptyDir and the container's filesystem die with the pod",
  fix: "mount a volume with persistentVolumeClaim.claimName at the data directory",
  check: (c) => {
    const w = c.workload;
    if (!w) return [];
    if (!w.dataMount) {
      return [
        {
          at: w.source,
          path: [...containerPath(w), "volumeMounts"],
          message: `container ${w.container.name} of ${w.kind}/${w.name} mounts nothing at ${c.options.dataDir}: the data lives in the container's own filesystem and is lost with the pod`,
        },
      ];
    }
    if (w.claimName) return [];
    const volume = w.dataMount.volume;
    const kind = Object.keys(volume).find((k) => k !== "name") ?? "no source";
    const index = w.view.pod?.volumes?.findIndex((v) => v.name === volume.name) ?? -1;
    return [
      {
        at: w.source,
        path: [...podSpecPath, "volumes", index],
        message: `${c.options.dataDir} of ${w.kind}/${w.name} is on volume "${volume.name}" (${kind}), not a PersistentVolumeClaim: the data is lost when the pod goes`,
      },
    ];
  },
};

export const datadirArgumentOnClaim: Rule = {
  id: "datadir-argument-on-claim",
  severity: "error",
  explanation:
    "the mysql image's entrypoint initialises and serves the data directory mysqld is given; a --datadir outside the claim puts the data in the container's filesystem",
  fix: "drop --datadir from the container's arguments, or mount the claim at the directory it names",
  check: (c) => {
    const w = c.workload;
    const moved = w ? datadirArgument(w.container) : undefined;
    if (!w || !moved) return [];
    const mountPath = w.dataMount?.mountPath ?? c.options.dataDir;
    if (w.dataMount && isWithin(moved.value, mountPath)) return [];
    const onClaim = w.claimName ? `claim ${w.claimName} mounted at ${mountPath}` : `${mountPath}`;
    return [
      {
        at: w.source,
        path: [...containerPath(w), moved.field, moved.index],
        message: `container ${w.container.name} of ${w.kind}/${w.name} runs mysqld with --datadir=${moved.value}, outside the ${onClaim}: MySQL initialises and writes its data in the container's filesystem and loses it with the pod`,
      },
    ];
  },
};

export const dataDirWritable: Rule = {
  id: "data-dir-writable",
  severity: "error",
  explanation: "mysqld must write its data directory",
  fix: "remove readOnly from the data volume mount and its persistentVolumeClaim",
  check: (c) => {
    const w = c.workload;
    if (!w?.dataMount?.readOnly) return [];
    return [
      {
        at: w.source,
        path: [...containerPath(w), "volumeMounts"],
        message: `${c.options.dataDir} of ${w.kind}/${w.name} is mounted read-only: mysqld cannot start`,
      },
    ];
  },
};
