import { describe, expect, test } from "vitest";
import { formatStatus, parseDf, parseDu, type StorageStatus } from "../../src/ops/status.ts";
import { growthBytesPerMinute, minutesUntilFull } from "../../src/ops/trend.ts";

describe("storage-status parsing", () => {
  test("df -Pk gives the filesystem in bytes; du -sk the files", () => {
    const df = "Filesystem     1024-blocks      Used Available Capacity Mounted on\n/dev/vda1        264241152  39370752 224870400      15% /var/lib/mysql\n";
    expect(parseDf(df)).toEqual({ sizeBytes: 264241152 * 1024, availableBytes: 224870400 * 1024, usedPercent: 14.9 });
    expect(parseDu("127688\t/var/lib/mysql\n")).toBe(127688 * 1024);
  });
  test("output that is not df's or du's is an error naming what was seen", () => {
    expect(() => parseDf("df: /var/lib/mysql: No such file or directory")).toThrow(/unexpected df output: "df: \/var\/lib\/mysql: No such file/);
    expect(() => parseDu("du: cannot access")).toThrow(/unexpected du output/);
  });
});

describe("storage-status output", () => {
  const status: StorageStatus = {
    namespace: "shop",
    claim: { name: "mysql-pvc", phase: "Bound", requested: "1Gi", capacity: "1Gi", storageClass: "standard", accessModes: ["ReadWriteOnce"], volume: "pvc-1" },
    pod: { name: "mysql-0", phase: "Running", ready: true, node: "n1", restarts: 2, mountPath: "/var/lib/mysql", readOnly: false },
    usage: {
      usedBytes: 900 * 2 ** 20,
      claimBytes: 2 ** 30,
      percentOfClaim: 87.9,
      filesystem: { sizeBytes: 250 * 2 ** 30, availableBytes: 200 * 2 ** 30, usedPercent: 20 },
    },
    problems: [],
    warnings: ["MySQL's files take 87.9% of the claim (warning at 80%)"],
  };
  test("names the claim, the pod, the usage against the claim, and says when the filesystem is not the claim", () => {
    const text = formatStatus(status);
    expect(text).toContain("claim        mysql-pvc: Bound, 1Gi (requested 1Gi), ReadWriteOnce, class standard");
    expect(text).toContain("pod          mysql-0: Running, Ready, node n1, 2 restarts");
    expect(text).toContain("usage        900.0 MiB of MySQL's files, 87.9% of the claim's 1.0 GiB");
    expect(text).toContain("(larger than the claim: this provisioner does not enforce the claim's size)");
    expect(text).toContain("warning      MySQL's files take 87.9% of the claim (warning at 80%)");
    expect(text).toMatch(/healthy$/);
  });
  test("a problem replaces 'healthy'", () => {
    const text = formatStatus({ ...status, problems: ["claim mysql-pvc is Pending, not Bound"] });
    expect(text).toContain("PROBLEM      claim mysql-pvc is Pending, not Bound");
    expect(text).not.toContain("healthy");
  });
});

describe("storage-monitor trend", () => {
  test("growth is the least-squares slope per minute; too few samples give none", () => {
    const mib = 2 ** 20;
    const samples = [0, 1, 2, 3].map((m) => ({ at: m * 60_000, usedBytes: 100 * mib + m * 2 * mib }));
    expect(growthBytesPerMinute(samples)).toBeCloseTo(2 * mib, 6);
    expect(growthBytesPerMinute(samples.slice(0, 1))).toBeUndefined();
    expect(
      growthBytesPerMinute([
        { at: 0, usedBytes: 1 },
        { at: 0, usedBytes: 2 },
      ]),
    ).toBeUndefined();
    expect(minutesUntilFull(100 * mib, 1024 * mib, 2 * mib)).toBe(462);
    expect(minutesUntilFull(100 * mib, 1024 * mib, 0)).toBeUndefined();
  });
});
