import { PatchStrategy, type V1ContainerStatus, type V1EnvVar, type V1PersistentVolumeClaim, type V1Pod } from "@kubernetes/client-node";
import { applyObjects } from "../kube/apply.ts";
import type { Kube } from "../kube/client.ts";
import { describeApiError } from "../kube/client.ts";
import { waitForClaimBound, waitForReadyPod } from "../kube/waits.ts";
import type { LoadedObject } from "../manifests/load.ts";
import { currentDataDir, findDatabaseWorkload, labelSelector, rootPasswordSource, type DatabaseWorkload } from "../manifests/workload.ts";
import { openDatabase, type Credentials, type Database } from "../mysql/client.ts";
import { checksumTables, loadDataset, type TableChecksums } from "../mysql/dataset.ts";
import { secondsSince } from "../clock.ts";
import { timeouts } from "../timeouts.ts";
import { nameOf } from "../kube/names.ts";

/** The storage setup under test, applied in one namespace. */
export class DeployedSetup {
  readonly kube: Kube;
  readonly namespace: string;
  readonly workload: DatabaseWorkload;
  readonly objects: LoadedObject[];

  private constructor(kube: Kube, namespace: string, objects: LoadedObject[], workload: DatabaseWorkload) {
    this.kube = kube;
    this.namespace = namespace;
    this.objects = objects;
    this.workload = workload;
  }

  /** The setup as already running in `namespace` (the operator commands): nothing is applied. */
  static attach(kube: Kube, namespace: string, objects: LoadedObject[]): DeployedSetup {
    const workload = findDatabaseWorkload(objects);
    if (!workload) throw new Error(`no Deployment or StatefulSet running MySQL was found in ${[...new Set(objects.map((o) => o.file))].join(", ")}`);
    return new DeployedSetup(kube, namespace, objects, workload);
  }

  /** Applies the manifests into `namespace`. */
  static async deploy(kube: Kube, namespace: string, objects: LoadedObject[]): Promise<DeployedSetup> {
    const workload = findDatabaseWorkload(objects);
    if (!workload) {
      const files = [...new Set(objects.map((o) => o.file))].join(", ");
      throw new Error(`no Deployment or StatefulSet running MySQL was found in ${files}`);
    }
    await applyObjects(kube, namespace, objects);
    return new DeployedSetup(kube, namespace, objects, workload);
  }

  /** The same setup through another client (a restarted node's API answers on a new port). */
  reconnected(kube: Kube): DeployedSetup {
    return new DeployedSetup(kube, this.namespace, this.objects, this.workload);
  }

  /**
   * `kubectl rollout restart`: stamps the pod template with the time, so the
   * workload's controller replaces its pods by its own update strategy.
   */
  async rolloutRestart(): Promise<void> {
    const { kind, name } = this.workload;
    const patch = {
      apiVersion: "apps/v1",
      kind,
      metadata: { name, namespace: this.namespace },
      spec: { template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": new Date().toISOString() } } } },
    };
    try {
      await this.kube.objects.patch(patch, undefined, undefined, undefined, undefined, PatchStrategy.StrategicMergePatch);
    } catch (error) {
      throw new Error(`restarting ${kind}/${name} (rollout restart) failed: ${describeApiError(error)}`);
    }
  }

  /** The MySQL container's status in `pod`. */
  mysqlContainerStatus(pod: V1Pod): V1ContainerStatus | undefined {
    return pod.status?.containerStatuses?.find((c) => c.name === this.workload.container.name);
  }

  /** Where MySQL's data directory is mounted (the design's /var/lib/mysql when nothing is). */
  get dataDir(): string {
    return this.workload.dataMount?.mountPath ?? currentDataDir();
  }

  get selector(): string {
    return labelSelector(this.workload.selector);
  }

  /**
   * The data claim's name. When the data directory is not on a claim but the
   * container mounts one elsewhere, that claim: the live checks then show
   * where the data really went. Fails when the container mounts no claim.
   */
  get claimName(): string {
    // A StatefulSet's volumeClaimTemplate is one claim per pod, named <template>-<statefulset>-<ordinal>.
    const claim = this.workload.claimFromTemplate
      ? `${this.workload.claimName}-${this.workload.name}-0`
      : (this.workload.claimName ?? this.workload.mountedClaims[0]);
    if (!claim) {
      const mount = this.workload.dataMount;
      const what = mount
        ? `volume "${mount.volume.name}" (${Object.keys(mount.volume)
            .filter((k) => k !== "name")
            .join(", ")})`
        : "no volume at all";
      throw new Error(`${this.workload.kind}/${this.workload.name} keeps ${mount?.mountPath ?? "the data directory"} on ${what}, not a PersistentVolumeClaim`);
    }
    return claim;
  }

  waitForClaimBound(): Promise<V1PersistentVolumeClaim> {
    return waitForClaimBound(this.kube, this.namespace, this.claimName, timeouts.claimBoundMs);
  }

  waitForReadyPod(options: { exclude?: string; timeoutMs?: number; runningIsEnough?: boolean } = {}): Promise<V1Pod> {
    return waitForReadyPod(this.kube, this.namespace, this.selector, options.timeoutMs ?? timeouts.podReadyMs, options);
  }

  /**
   * An environment variable `name` holding the root password the way the
   * workload gets it (from its Secret, or its literal): a helper pod reads
   * the password without it passing through the suite.
   */
  rootPasswordEnv(name: string): V1EnvVar {
    const source = rootPasswordSource(this.workload);
    if (!source) throw new Error(`${this.workload.kind}/${this.workload.name} sets no MYSQL_ROOT_PASSWORD; the suite needs root to verify data`);
    return "secret" in source
      ? { name, valueFrom: { secretKeyRef: { name: source.secret, key: source.key } } }
      : { name, value: this.workload.container.env!.find((e) => e.name === "MYSQL_ROOT_PASSWORD")!.value ?? "" };
  }

  /** Root credentials as the workload reads them (from its Secret, or a literal in the manifest). */
  async rootCredentials(): Promise<Credentials> {
    const source = rootPasswordSource(this.workload);
    if (!source) throw new Error(`${this.workload.kind}/${this.workload.name} sets no MYSQL_ROOT_PASSWORD; the suite needs root to verify data`);
    if ("literal" in source) {
      const value = this.workload.container.env!.find((e) => e.name === "MYSQL_ROOT_PASSWORD")!.value ?? "";
      return { user: "root", password: value };
    }
    try {
      const secret = await this.kube.core.readNamespacedSecret({ name: source.secret, namespace: this.namespace });
      const encoded = secret.data?.[source.key];
      if (encoded === undefined) throw new Error(`Secret ${source.secret} has no key ${source.key}`);
      return { user: "root", password: Buffer.from(encoded, "base64").toString("utf8") };
    } catch (error) {
      throw new Error(`reading the root password from Secret ${source.secret}/${source.key}: ${describeApiError(error)}`);
    }
  }

  /**
   * Loads the ecomdb dataset through a connection of its own and returns the
   * checksums the disruption checks compare against, and how long loading took.
   */
  async loadDataset(options: { runningIsEnough?: boolean } = {}): Promise<{ checksums: TableChecksums; seconds: number }> {
    const db = await this.open(options);
    try {
      const started = performance.now();
      await loadDataset(db.connection);
      const seconds = secondsSince(started);
      return { checksums: await checksumTables(db.connection), seconds };
    } finally {
      await db.close();
    }
  }

  /** The dataset's rows and checksum per table, read through a connection of its own. */
  async readChecksums(): Promise<TableChecksums> {
    const db = await this.open();
    try {
      return await checksumTables(db.connection);
    } finally {
      await db.close();
    }
  }

  /**
   * Connects to MySQL in the Ready pod; with runningIsEnough, in a pod whose
   * container runs, before its readiness probe passes (mysqld is retried).
   */
  async open(options: { exclude?: string; runningIsEnough?: boolean } = {}): Promise<Database> {
    const pod = await this.waitForReadyPod(options);
    return openDatabase(this.kube, this.namespace, nameOf(pod), await this.rootCredentials(), timeouts.mysqlReadyMs);
  }
}
