import { describe, expect, it } from "vitest";
import { backupFileName, chooseRetention, isoWeek, parseBackupFileName, type DatedDump } from "../../src/ops/rotation.ts";

const at = (iso: string) => new Date(iso);
const dump = (iso: string, namespace = "shop"): DatedDump => ({ name: backupFileName(namespace, at(iso)), at: at(iso) });

describe("backup-db names dumps by UTC time", () => {
  it("<namespace>-<YYYYMMDDTHHMMSSZ>.sql, read back to the second", () => {
    expect(backupFileName("shop", at("2026-11-25T14:23:15.678Z"))).toBe("shop-20261125T142315Z.sql");
    expect(parseBackupFileName("shop-20261125T142315Z.sql", "shop")).toEqual({ name: "shop-20261125T142315Z.sql", at: at("2026-11-25T14:23:15Z") });
  });
  it("another namespace's dumps, records, partial files, copies and impossible dates are not dumps of this namespace", () => {
    for (const name of [
      "shop-eu-20261125T142315Z.sql",
      "shop-20261125T142315Z.sql.json",
      "shop-20261125T142315Z.sql.partial",
      "shop-20261125T142315Z (copy).sql",
      "shop-20261125T142315.sql",
      "shop-20261340T142315Z.sql",
      "myshop-20261125T142315Z.sql",
      "notes.txt",
    ]) {
      expect(parseBackupFileName(name, "shop"), name).toBeUndefined();
    }
    expect(parseBackupFileName("shop-eu-20261125T142315Z.sql", "shop-eu")).toBeDefined();
  });
});

describe("ISO weeks", () => {
  it("start on Monday; the week of the year's first Thursday is week 1", () => {
    expect(isoWeek(at("2026-11-25T12:00:00Z"))).toBe("2026-W48");
    expect(isoWeek(at("2026-11-23T00:00:00Z"))).toBe("2026-W48"); // Monday
    expect(isoWeek(at("2026-11-22T23:59:59Z"))).toBe("2026-W47"); // Sunday
    expect(isoWeek(at("2027-01-01T00:00:00Z"))).toBe("2026-W53"); // a Friday: still 2026's last week
    expect(isoWeek(at("2024-12-30T00:00:00Z"))).toBe("2025-W01"); // a Monday in 2025's first week
  });
});

describe("retention: the newest of each of the last N days and M ISO weeks", () => {
  const names = (list: { name: string }[]) => list.map((d) => d.name.replace(/^shop-|\.sql$/g, ""));

  it("two dumps a day for ten days, keep-daily 3 keep-weekly 0: the newest of each of the last three days", () => {
    const dumps = Array.from({ length: 10 }, (_, d) => [dump(`2026-11-${String(10 + d)}T02:00:00Z`), dump(`2026-11-${String(10 + d)}T14:00:00Z`)]).flat();
    const choice = chooseRetention(dumps, { keepDaily: 3, keepWeekly: 0 });
    expect(names(choice.keep)).toEqual(["20261119T140000Z", "20261118T140000Z", "20261117T140000Z"]);
    expect(choice.keep[0]!.reasons).toEqual(["newest", "daily 2026-11-19"]);
    expect(choice.expire).toHaveLength(17);
  });
  it("weekly keeps the newest of each ISO week, beside the daily ones", () => {
    // Daily at 02:00 from Monday 2026-10-26 to Wednesday 2026-11-25: five ISO weeks (W44..W48).
    const dumps = Array.from({ length: 31 }, (_, d) => dump(new Date(Date.UTC(2026, 9, 26 + d, 2)).toISOString()));
    const choice = chooseRetention(dumps, { keepDaily: 2, keepWeekly: 3 });
    expect(names(choice.keep)).toEqual(["20261125T020000Z", "20261124T020000Z", "20261122T020000Z", "20261115T020000Z"]);
    expect(choice.keep.map((k) => k.reasons)).toEqual([
      ["newest", "daily 2026-11-25", "weekly 2026-W48"],
      ["daily 2026-11-24"],
      ["weekly 2026-W47"],
      ["weekly 2026-W46"],
    ]);
    expect(choice.expire).toHaveLength(27);
  });
  it("days without a dump are not counted: a pause never expires the older dumps at once", () => {
    const dumps = [dump("2026-11-25T02:00:00Z"), dump("2026-11-01T02:00:00Z"), dump("2026-10-31T02:00:00Z"), dump("2026-10-30T02:00:00Z")];
    expect(names(chooseRetention(dumps, { keepDaily: 3, keepWeekly: 0 }).keep)).toEqual(["20261125T020000Z", "20261101T020000Z", "20261031T020000Z"]);
  });
  it("the newest dump is never expired, even with nothing to keep; nothing in, nothing out", () => {
    const dumps = [dump("2026-11-24T02:00:00Z"), dump("2026-11-25T02:00:00Z")];
    const choice = chooseRetention(dumps, { keepDaily: 0, keepWeekly: 0 });
    expect(names(choice.keep)).toEqual(["20261125T020000Z"]);
    expect(choice.keep[0]!.reasons).toEqual(["newest"]);
    expect(names(choice.expire)).toEqual(["20261124T020000Z"]);
    expect(chooseRetention([], { keepDaily: 7, keepWeekly: 4 })).toEqual({ keep: [], expire: [] });
  });
  it("the dump just made stays even when a skewed clock dated another one later", () => {
    const dumps = [dump("2026-11-25T02:00:00Z"), dump("2027-01-01T00:00:00Z")];
    const choice = chooseRetention(dumps, { keepDaily: 0, keepWeekly: 0, justMade: dumps[0]!.name });
    expect(choice.keep.map((k) => k.reasons)).toEqual([["newest"], ["just made"]]);
    expect(choice.expire).toEqual([]);
  });
  it("days are UTC days: 23:59 and 00:01 UTC are two days wherever the machine is", () => {
    const dumps = [dump("2026-11-25T00:01:00Z"), dump("2026-11-24T23:59:00Z")];
    expect(chooseRetention(dumps, { keepDaily: 2, keepWeekly: 0 }).expire).toEqual([]);
  });
});
