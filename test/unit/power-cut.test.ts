import { describe, expect, test } from "vitest";
import { parseCutReply, type LayerCut } from "../../src/cluster/power.ts";
import { inconclusiveCuts, powerCutValues, seededRandom, type PowerCutCycle } from "../../src/conformance/power-cut.ts";
import { describeViolations, type LedgerVerdict } from "../../src/ledger/analysis.ts";
import { faultedCommits } from "../../src/ledger/evidence.ts";
import { withPlacement } from "../../src/manifests/placement.ts";
import type { LoadedObject } from "../../src/manifests/load.ts";
import { commitLogPattern, durableBytesDropped, holdsDurableData } from "../../src/mysql/files.ts";

// A reply of `lazyfs ctl ... torn-after-write`, as the layer printed it on a node running MySQL 9.7.
const armedTornReply = JSON.stringify({
  command: "torn",
  seed: 42,
  at: "2026-12-05T12:01:10.123456789Z",
  frozen: true,
  dirty_bytes_before: 262144,
  dirty_blocks_before: 64,
  dirty_files_before: 3,
  dropped_bytes: 126976,
  dropped_blocks: 31,
  dropped_files: 2,
  kept_bytes: 135168,
  kept_blocks: 33,
  errors: 0,
  written_back_bytes: 0,
  written_back_bytes_since_last_cut: 4096,
  invalidated: 2,
  invalidate_pending: 0,
  files: [
    { path: "pvc-1_ns_mysql-pvc/#innodb_redo/#ib_redo12", ino: 7, dropped_bytes: 512, kept_bytes: 0 },
    { path: "pvc-1_ns_mysql-pvc/ibtmp1", ino: 8, dropped_bytes: 126464, kept_bytes: 135168 },
  ],
  ms: 0.4,
  trigger: "write",
  trigger_path: "pvc-1_ns_mysql-pvc/#innodb_redo/#ib_redo12",
  waited_ms: 312.5,
});

describe("a lazy layer's cut reply", () => {
  test("is read with the trigger, the seed, the moment and each file's loss", () => {
    const cut = parseCutReply("lazyfs", `some stderr line\n${armedTornReply}\n`);
    expect(cut).toMatchObject({
      layer: "lazyfs",
      command: "torn",
      seed: 42,
      trigger: "write",
      triggerPath: "pvc-1_ns_mysql-pvc/#innodb_redo/#ib_redo12",
      waitedMs: 312.5,
      dirtyBytesBefore: 262144,
      droppedBytes: 126976,
      keptBytes: 135168,
      droppedFiles: 2,
      writtenBackBytes: 4096,
    });
    expect(cut.atMs).toBe(Date.parse("2026-12-05T12:01:10.123Z"));
    expect(cut.files).toEqual([
      { path: "pvc-1_ns_mysql-pvc/#innodb_redo/#ib_redo12", droppedBytes: 512, keptBytes: 0 },
      { path: "pvc-1_ns_mysql-pvc/ibtmp1", droppedBytes: 126464, keptBytes: 135168 },
    ]);
  });

  test("an immediate cut has no trigger", () => {
    const reply = JSON.parse(armedTornReply) as Record<string, unknown>;
    delete reply.trigger;
    delete reply.trigger_path;
    delete reply.waited_ms;
    reply.command = "cut";
    expect(parseCutReply("lazyfs-lying", JSON.stringify(reply))).toMatchObject({ layer: "lazyfs-lying", command: "cut", trigger: "immediate", waitedMs: 0 });
  });

  test("a refusal, a reply that is not JSON, and a reply missing a figure are each named", () => {
    expect(() => parseCutReply("lazyfs", '{"error":"a cut is armed already"}')).toThrow("the lazyfs layer refused the cut: a cut is armed already");
    expect(() => parseCutReply("lazyfs", "lazyfs ctl: dial unix /run/kubenode/lazyfs.sock: connect: no such file or directory")).toThrow(
      /the lazyfs layer's cut answered what is not JSON: lazyfs ctl: dial unix/,
    );
    const reply = JSON.parse(armedTornReply) as Record<string, unknown>;
    delete reply.dropped_bytes;
    expect(() => parseCutReply("lazyfs", JSON.stringify(reply))).toThrow(/has no number dropped_bytes/);
  });
});

describe("the files of a data directory", () => {
  test("the armed cut's pattern matches the redo and binary logs, and nothing else", () => {
    const re = new RegExp(commitLogPattern);
    for (const path of ["pvc/#innodb_redo/#ib_redo12", "pvc/ib_logfile0", "pvc/binlog.000003", "pvc/mysql-bin.000001"]) expect(path).toMatch(re);
    for (const path of ["pvc/ibdata1", "pvc/ecomdb/orders.ibd", "pvc/binlog.index", "pvc/#innodb_redo/#ib_redo12_tmp", "pvc/undo_001"])
      expect(path).not.toMatch(re);
  });

  test("temporary tablespaces hold nothing durable; a cut that only dropped them counts for nothing", () => {
    expect(holdsDurableData("pvc/ibtmp1")).toBe(false);
    expect(holdsDurableData("pvc/#innodb_temp/temp_3.ibt")).toBe(false);
    expect(holdsDurableData("pvc/ecomdb/orders.ibd")).toBe(true);
    expect(
      durableBytesDropped([
        { path: "pvc/ibtmp1", droppedBytes: 1000 },
        { path: "pvc/#innodb_redo/#ib_redo3", droppedBytes: 24 },
        { path: "pvc/mysql.ibd", droppedBytes: 16384 },
      ]),
    ).toBe(16408);
  });
});

const cut = (over: Partial<LayerCut>): LayerCut => ({
  layer: "lazyfs",
  command: "cut",
  trigger: "write",
  triggerPath: "p/#innodb_redo/#ib_redo9",
  waitedMs: 10,
  atMs: 1_000,
  dirtyBytesBefore: 8192,
  droppedBytes: 8192,
  keptBytes: 0,
  droppedFiles: 1,
  writtenBackBytes: 0,
  files: [],
  ...over,
});
const cycle = (dataCut: LayerCut | undefined, durable: number, verified = 4.6): PowerCutCycle => ({
  cuts: dataCut ? [dataCut] : [],
  ...(dataCut ? { dataCut } : {}),
  durableBytesDropped: durable,
  atMs: 1_000,
  poweredOn_s: 0.4,
  mysqldReady_s: 4.4,
  firstVerifiedQuery_s: verified,
  pod: "mysql-0",
  dataDifferences: [],
});

describe("a series of power cuts", () => {
  test("records the power_cut_* figures and each cycle's cut, trigger and milestones", () => {
    const values = powerCutValues([
      cycle(cut({ droppedBytes: 22_122_091 }), 17_600_990, 4.97),
      cycle(cut({ command: "torn", seed: 167112866, droppedBytes: 8_238_083 }), 8_238_083, 4.65),
      cycle(cut({ droppedBytes: 4_194_819, trigger: "timeout", triggerPath: undefined }), 0, 4.58),
    ]);
    expect(values.power_cuts).toEqual({ value: 3, unit: "cuts" });
    expect(values.power_cuts_inconclusive).toEqual({ value: 1, unit: "cuts" });
    expect(values.power_cut_dropped_bytes_p50).toEqual({ value: 8_238_083, unit: "B" });
    expect(values.power_cut_dropped_bytes_max).toEqual({ value: 22_122_091, unit: "B" });
    expect(values.cycle2_cut?.value).toBe("torn (seed 167112866)");
    expect(values.cycle1_cut_trigger?.value).toBe("write to p/#innodb_redo/#ib_redo9");
    expect(values.cycle3_cut_trigger?.value).toBe("timeout");
    expect(values.cycle3_first_verified_query_s).toEqual({ value: 4.58, unit: "s" });
  });

  test("container kills (SC_POWER_CUT_MODE=kill) record no cut figures", () => {
    const values = powerCutValues([cycle(undefined, 0)]);
    expect(values.power_cuts).toEqual({ value: 1, unit: "cuts" });
    expect(values.power_cuts_inconclusive).toBeUndefined();
    expect(inconclusiveCuts([cycle(undefined, 0)])).toBeUndefined();
  });

  test("fails when most cuts dropped nothing durable, and says what they dropped", () => {
    expect(inconclusiveCuts([cycle(cut({}), 1), cycle(cut({}), 0), cycle(cut({}), 5)])).toBeUndefined();
    expect(inconclusiveCuts([cycle(cut({ droppedBytes: 0, trigger: "timeout" }), 0), cycle(cut({ droppedBytes: 4096 }), 0), cycle(cut({}), 5)])).toBe(
      "2 of 3 power cuts dropped no unsynced byte of a file that holds durable data, so they tested nothing " +
        "(no write of the redo or binary log 0 B dropped; only 4096 B dropped): is the ledger writer committing, and does the data claim live on the lazy layer?",
    );
  });

  test("the seeded generator repeats a series from its seed", () => {
    const a = seededRandom(1175796990);
    const b = seededRandom(1175796990);
    const first = [a(), a(), a()];
    expect([b(), b(), b()]).toEqual(first);
    expect(
      first.filter((x) => !(x >= 0 && x < 1)),
      "values outside [0, 1)",
    ).toEqual([]);
    expect(seededRandom(7)()).not.toBe(first[0]);
  });
});

const verdict = (over: Partial<LedgerVerdict>): LedgerVerdict => ({
  acknowledged: 637,
  failed: 0,
  inDoubtPresent: [],
  inDoubtAbsent: [],
  lost: [],
  failedButPresent: [],
  phantom: [],
  duplicated: [],
  corrupted: [],
  unrecordedPresent: [],
  violations: 0,
  ...over,
});
const lostCommit = { writer: 2, seq: 41, state: "ack" as const, tSendMs: 9_000, tDoneMs: 9_400, crc: 1 };

describe("a red ledger after a power cut", () => {
  const durable = { innodb_flush_log_at_trx_commit: "1", sync_binlog: "1", innodb_doublewrite: "ON", innodb_flush_method: "O_DIRECT" };

  test("under durable settings is laid at the storage's door", () => {
    const text = describeViolations(verdict({ lost: [lostCommit], violations: 1 }), [{ name: "power cut 1", tMs: 10_000 }], 5, [], {
      settings: durable,
      powerLoss: true,
    });
    expect(text).toBe(
      "1 acknowledged commits lost (of 637): writer 2 seq 41 acknowledged 0.60 s before power cut 1.\n" +
        "The server's settings are durable (innodb_flush_log_at_trx_commit=1, sync_binlog=1, innodb_doublewrite=ON, innodb_flush_method=O_DIRECT): " +
        "it synced each commit before acknowledging it, so the storage acknowledged an fsync it had not made durable: blame the storage (its write cache, a mount or export that ignores flushes), not the server",
    );
  });

  test("under durable settings without a power loss is the server's fault", () => {
    const text = describeViolations(verdict({ lost: [lostCommit], violations: 1 }), [{ name: "mysqld SIGKILL 1", tMs: 10_000 }], 5, [], { settings: durable });
    expect(text).toMatch(/no power was lost \(every byte written was still there\): the server acknowledged commits it did not keep, a server fault$/);
  });

  test("the evidence names every faulted commit once", () => {
    const row = { writer: 1, seq: 7, payload: "x", payloadCrc: 1, serverIdentity: "m@1", id: 70 };
    expect(
      faultedCommits(
        verdict({
          lost: [lostCommit],
          duplicated: [{ writer: 1, seq: 7, rows: 2, ids: [70, 71], servers: ["m@1"] }],
          corrupted: [{ row, reason: "payload does not match its CRC" }],
        }),
      ),
    ).toEqual([
      { writer: 2, seq: 41, why: "lost (acknowledged, not found)" },
      { writer: 1, seq: 7, why: "stored 2 times" },
    ]);
  });
});

describe("placing the design on the power-cut node", () => {
  test("adds a node selector and a toleration to the workload's pod template only, and copies", () => {
    const deployment = {
      object: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "mysql" },
        spec: { template: { spec: { tolerations: [{ key: "a", operator: "Exists" }], containers: [{ name: "mysql" }] } } },
      },
      file: "d.yaml",
      line: 1,
      lineOf: () => 1,
    } as unknown as LoadedObject;
    const claim = { ...deployment, object: { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "mysql-pvc" } } } as LoadedObject;
    const [placed, sameClaim] = withPlacement([deployment, claim], {
      node: "power-cut-1",
      tolerations: [{ key: "storage-conformance.local/power-cut", operator: "Equal", value: "true", effect: "NoSchedule" }],
    });
    const spec = (placed!.object.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    expect(spec.nodeSelector).toEqual({ "kubernetes.io/hostname": "power-cut-1" });
    expect(spec.tolerations).toEqual([
      { key: "a", operator: "Exists" },
      { key: "storage-conformance.local/power-cut", operator: "Equal", value: "true", effect: "NoSchedule" },
    ]);
    expect(sameClaim).toBe(claim);
    expect((deployment.object.spec as { template: { spec: Record<string, unknown> } }).template.spec.nodeSelector).toBeUndefined();
  });
});
