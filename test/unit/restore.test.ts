import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeRecord } from "../../src/ops/backup-data.ts";
import { parseRecord, recordFormat, recordPath, recordVersion, writeRecord, type BackupRecord } from "../../src/ops/backup-record.ts";
import { checkDump, databasesToRestore, engineRefusal, formatVerdict, planRestore, verifyRestored, type CheckedDump } from "../../src/ops/restore.ts";
import { removeTempDirs, tempDir } from "./support/fake-cluster.ts";

afterAll(removeTempDirs);

/** A dump as mysqldump --databases writes it, small. */
function dumpText(database = "ecomdb", options: { complete?: boolean; longInsert?: number } = {}): string {
  const insert = `INSERT INTO \`customers\` VALUES ${Array.from({ length: options.longInsert ?? 2 }, (_, i) => `(${i + 1},'customer ${i + 1}')`).join(",")};`;
  return [
    "-- MySQL dump 10.13  Distrib 9.7.4, for Linux (x86_64)",
    "--",
    `-- Current Database: \`${database}\``,
    "--",
    "",
    `CREATE DATABASE /*!32312 IF NOT EXISTS*/ \`${database}\` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;`,
    "",
    `USE \`${database}\`;`,
    "DROP TABLE IF EXISTS `customers`;",
    "CREATE TABLE `customers` (`id` int NOT NULL, `name` varchar(64), PRIMARY KEY (`id`));",
    insert,
    ...(options.complete === false ? [] : ["", "-- Dump completed on 2026-11-25 14:23:15", ""]),
  ].join("\n");
}

function recordFor(file: string, text: string, overrides: Partial<BackupRecord> = {}): BackupRecord {
  return {
    format: recordFormat,
    version: recordVersion,
    dump: { file: file.split("/").pop()!, bytes: Buffer.byteLength(text), sha256: createHash("sha256").update(text).digest("hex") },
    databases: ["ecomdb"],
    allDatabases: false,
    tables: { ecomdb: { customers: { rows: 2, checksum: "0A1B2C3D" } } },
    measured: "right after the dump",
    server: { version: "9.7.4", engine: "mysql" },
    madeAt: "2026-11-25T14:23:15.000Z",
    namespace: "shop",
    pod: "mysql-abc",
    ...overrides,
  };
}

/** A dump and its record in a fresh folder; `text` is what lands in the dump file. */
function backup(text = dumpText(), record?: (file: string) => BackupRecord): string {
  const file = join(tempDir("sc-restore-"), "shop-20261125T142315Z.sql");
  writeFileSync(file, text);
  writeRecord(file, record ? record(file) : recordFor(file, text));
  return file;
}

const refusal = async (file: string): Promise<string> =>
  checkDump(file).then(
    () => "(accepted)",
    (error: Error) => error.message,
  );

describe("restore-db checks the dump before it touches the server", () => {
  it("a dump and its record as backup-db writes them pass, naming the databases the dump switches to", async () => {
    const file = backup();
    const checked = await checkDump(file);
    expect(checked.databases).toEqual(["ecomdb"]);
    expect(checked.sha256).toBe(checked.record.dump.sha256);
  });
  it("finds USE lines however the file is cut into chunks, past INSERT lines longer than a chunk", async () => {
    const text = `${dumpText("ecomdb", { longInsert: 20_000 })}\n${dumpText("shop")}`;
    const file = backup(text, (f) => recordFor(f, text, { databases: ["ecomdb", "shop"], tables: { ecomdb: {}, shop: {} } }));
    expect((await checkDump(file)).databases).toEqual(["ecomdb", "shop"]);
  });
  it("a missing file, a directory and an unreadable file are one line each", async () => {
    const dir = tempDir("sc-restore-");
    expect(await refusal(join(dir, "nothing.sql"))).toMatch(/nothing\.sql does not exist$/);
    expect(await refusal(dir)).toMatch(/is a directory, not a dump file$/);
    if (process.getuid?.() !== 0) {
      const file = backup();
      chmodSync(file, 0o000);
      expect(await refusal(file)).toMatch(/cannot be read: permission denied$/);
    }
  });
  it("a truncated dump is refused: no end marker", async () => {
    const text = dumpText("ecomdb", { complete: false });
    expect(await refusal(backup(text))).toMatch(/is truncated: it does not end with mysqldump's "-- Dump completed on" line/);
  });
  it("a missing record is refused, naming where it should be", async () => {
    const file = join(tempDir("sc-restore-"), "copy.sql");
    writeFileSync(file, dumpText());
    expect(await refusal(file)).toBe(
      `${file} has no record beside it (${file}.json, which backup-db writes with each dump): without it the dump can be neither checked nor verified`,
    );
  });
  it("a dump that changed after its record was written is refused: sha256 mismatch", async () => {
    const file = backup();
    writeFileSync(file, dumpText().replace("customer 1", "customer X"));
    expect(await refusal(file)).toMatch(
      /has sha256 [0-9a-f]{16}…, its record says [0-9a-f]{16}… .*the file changed after the backup, or the record belongs to another dump$/,
    );
  });
  it("a record beside another dump is refused the same way", async () => {
    const first = backup();
    const second = backup(dumpText("shop"));
    copyFileSync(recordPath(first), recordPath(second));
    expect(await refusal(second)).toMatch(/its record says/);
  });
  it("a record that is not JSON, or not backup-db's, is named with the field and never quoted", async () => {
    const file = backup();
    writeFileSync(recordPath(file), "{ not json s3cret");
    expect(await refusal(file)).toBe(`${file}.json is not JSON: it is not a record backup-db wrote`);
    writeFileSync(recordPath(file), JSON.stringify({ ...recordFor(file, dumpText()), server: { version: "9.7.4", engine: "postgres" } }));
    expect(await refusal(file)).toMatch(/\.json: server\.engine is not one of mysql, mariadb; it is not a record backup-db wrote/);
    const text = JSON.stringify({ ...recordFor(file, dumpText()), version: 7 });
    expect(() => parseRecord(text, "r.json")).toThrow("r.json: version is 7, this restore-db reads version 1");
  });
  it("an empty dump is refused", async () => {
    const file = backup("", (f) => recordFor(f, ""));
    expect(await refusal(file)).toMatch(/is empty: it is not a dump$/);
  });
});

describe("which databases a dump restores", () => {
  const checked = (databases: string[], record: Partial<BackupRecord> = {}): CheckedDump => ({
    file: "d.sql",
    bytes: 1,
    sha256: "0".repeat(64),
    record: recordFor("d.sql", "", { databases, ...record }),
    databases,
  });
  it("the dump's own databases; --database must name the one it holds", () => {
    expect(databasesToRestore(checked(["ecomdb"]), undefined)).toEqual(["ecomdb"]);
    expect(databasesToRestore(checked(["ecomdb"]), "ecomdb")).toEqual(["ecomdb"]);
    expect(() => databasesToRestore(checked(["ecomdb"]), "shop")).toThrow("d.sql is a dump of ecomdb, not of --database shop");
    expect(() => databasesToRestore(checked(["ecomdb", "shop"]), "shop")).toThrow("d.sql is a dump of ecomdb, shop, not of --database shop");
  });
  it("a dump of every database (the mysql system schema included) is refused", () => {
    expect(() => databasesToRestore(checked(["ecomdb"], { allDatabases: true }), undefined)).toThrow(
      /dump of every database, the mysql system schema \(users and passwords\) included/,
    );
  });
  it("a dump that names no database, or one its record does not, is refused", () => {
    expect(() => databasesToRestore({ ...checked(["ecomdb"]), databases: [] }, undefined)).toThrow(/names no database \(no USE line\)/);
    expect(() => databasesToRestore({ ...checked(["ecomdb"]), databases: ["other"] }, undefined)).toThrow(
      "d.sql holds database other, which its record does not name (ecomdb)",
    );
  });
});

describe("a dump of another engine is refused unless --cross-engine", () => {
  const mariadbDump = recordFor("d.sql", "", { server: { version: "10.11.14-MariaDB-0+deb12u2", engine: "mariadb" } });
  it("MariaDB's dump on MySQL is one line naming both versions and the way out", () => {
    expect(engineRefusal(mariadbDump, "9.7.4", false)).toBe(
      "the dump was made on MariaDB 10.11.14-MariaDB-0+deb12u2, this server is MySQL 9.7.4; pass --cross-engine to try anyway",
    );
  });
  it("same engine, or --cross-engine, is no refusal", () => {
    expect(engineRefusal(mariadbDump, "10.11.14-MariaDB-0+deb12u2", false)).toBeUndefined();
    expect(engineRefusal(mariadbDump, "9.7.4", true)).toBeUndefined();
    expect(engineRefusal(recordFor("d.sql", ""), "10.11.6-MariaDB", false)).toMatch(/made on MySQL 9\.7\.4, this server is MariaDB 10\.11\.6-MariaDB/);
  });
});

describe("refuse, or drop and restore", () => {
  it("a database that does not exist, or has no tables, is restored into", () => {
    expect(planRestore(["ecomdb"], { ecomdb: undefined }, false)).toEqual({ action: "restore", drop: [] });
    expect(planRestore(["ecomdb"], { ecomdb: [] }, false)).toEqual({ action: "restore", drop: [] });
  });
  it("a database with tables is refused without --replace, naming them", () => {
    expect(planRestore(["ecomdb"], { ecomdb: ["customers", "orders", "products"] }, false)).toEqual({
      action: "refuse",
      reason: "database ecomdb has 3 tables (customers, orders, products) on the server: pass --replace to drop and recreate it from the dump",
    });
  });
  it("--replace drops every database of the dump that exists, then restores", () => {
    expect(planRestore(["ecomdb", "shop", "new"], { ecomdb: ["customers"], shop: [], new: undefined }, true)).toEqual({
      action: "restore",
      drop: ["ecomdb", "shop"],
    });
  });
});

describe("after the restore, every table of the record is verified", () => {
  const record = recordFor("d.sql", "", { tables: { ecomdb: { customers: { rows: 2, checksum: "0A1B2C3D" }, orders: { rows: 5, checksum: "FFFF0000" } } } });
  it("same rows and checksum are verified; a difference or a missing table is named", () => {
    const verdicts = verifyRestored(record, { ecomdb: { customers: { rows: 2, checksum: "0A1B2C3D" } } });
    expect(verdicts.map((v) => [v.table, v.verified])).toEqual([
      ["customers", true],
      ["orders", false],
    ]);
    expect(formatVerdict(verdicts[0]!)).toMatch(/ecomdb\.customers\s+verified {2}2 rows \/ 0A1B2C3D$/);
    expect(formatVerdict(verdicts[1]!)).toMatch(/ecomdb\.orders\s+MISSING {3}expected 5 rows \/ FFFF0000$/);
    const changed = verifyRestored(record, { ecomdb: { customers: { rows: 1, checksum: "0A1B2C3D" }, orders: { rows: 5, checksum: "FFFF0000" } } });
    expect(formatVerdict(changed[0]!)).toMatch(/DIFFERS {3}expected 2 rows \/ 0A1B2C3D, found 1 rows \/ 0A1B2C3D$/);
  });
});

describe("the record backup-db writes", () => {
  it("is one restore-db reads back: databases from the measured tables, the engine from the server's own version", () => {
    const record = makeRecord({
      file: "/backups/shop-20261125T142315Z.sql",
      bytes: 1234,
      sha256: "a".repeat(64),
      allDatabases: false,
      tables: { ecomdb: { customers: { rows: 20000, checksum: "0A1B2C3D" } } },
      serverVersion: "10.11.14-MariaDB-0+deb12u2",
      madeAt: new Date("2026-11-25T14:23:15.123Z"),
      namespace: "shop",
      pod: "mysql-abc",
    });
    expect(parseRecord(JSON.stringify(record), "r.json")).toEqual(record);
    expect(record).toMatchObject({
      databases: ["ecomdb"],
      dump: { file: "shop-20261125T142315Z.sql" },
      server: { engine: "mariadb" },
      madeAt: "2026-11-25T14:23:15.123Z",
    });
    expect(record.measured).toMatch(/^right after the dump, in one consistent snapshot of its own/);
  });
});
