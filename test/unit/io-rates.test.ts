import { describe, expect, test } from "vitest";
import { formatIo, interpretIoQuery, ioCountersSql, ioFigures, ioJson, ioRates, parseIoCounters, type IoCounters } from "../../src/ops/io-rates.ts";
import { ioCountersCommand } from "../../src/ops/status.ts";

const mib = 2 ** 20;

/** `mysql -N -B -e ioCountersSql` as MySQL 9.7 prints it: SHOW GLOBAL STATUS rows, then the performance_schema row. */
const mysqlOutput = (status: Record<string, number>, timers: string) =>
  `${Object.entries(status)
    .map(([name, value]) => `${name}\t${value}\n`)
    .join("")}innodb_file_io\t${timers}\n`;

const before = {
  Com_commit: 400,
  Handler_commit: 9000,
  Innodb_data_fsyncs: 3000,
  Innodb_data_read: 80 * mib,
  Innodb_data_reads: 5000,
  Innodb_data_writes: 20000,
  Innodb_data_written: 160 * mib,
  Innodb_os_log_written: 10 * mib,
  Uptime: 1000,
};
// Ten seconds later: 120 reads, 3405 writes, 980 fsyncs, 20 MiB read, 50 MiB written, 12 MiB of redo, 400 COMMITs.
const after = {
  Com_commit: 800,
  Handler_commit: 10200,
  Innodb_data_fsyncs: 3980,
  Innodb_data_read: 100 * mib,
  Innodb_data_reads: 5120,
  Innodb_data_writes: 23405,
  Innodb_data_written: 210 * mib,
  Innodb_os_log_written: 22 * mib,
  Uptime: 1010,
};
// performance_schema: 100 reads took 21 ms, 2000 writes 100 ms, 500 misc operations 900 ms (timers in picoseconds).
const timersBefore = "1\t4000\t800000000000\t30000\t1500000000000\t9000\t12000000000000";
const timersAfter = "1\t4100\t821000000000\t32000\t1600000000000\t9500\t12900000000000";

const counters = (stdout: string): IoCounters => parseIoCounters(stdout);

describe("storage-monitor's I/O counters", () => {
  test("are read from SHOW GLOBAL STATUS rows and the performance_schema row of one client invocation", () => {
    expect(counters(mysqlOutput(before, timersBefore))).toEqual({
      status: before,
      fileIo: { reads: 4000, readPs: 800_000_000_000, writes: 30000, writePs: 1_500_000_000_000, misc: 9000, miscPs: 12_000_000_000_000 },
    });
  });

  test("with performance_schema OFF (MariaDB's default) have no timers, and say so", () => {
    const parsed = counters(mysqlOutput(before, "0\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL"));
    expect(parsed.fileIo).toBeNull();
    expect(parsed.fileIoUnavailable).toBe("performance_schema off");
    expect(parsed.status.Innodb_data_reads).toBe(5000);
  });

  test("with performance_schema ON and nothing timed yet count zero operations", () => {
    expect(counters(mysqlOutput(before, "1\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL")).fileIo).toEqual({
      reads: 0,
      readPs: 0,
      writes: 0,
      writePs: 0,
      misc: 0,
      miscPs: 0,
    });
  });

  test("without the performance_schema table keep the status counters; the client's exit 1 is no failure", () => {
    const reading = interpretIoQuery({
      exitCode: 1,
      stdout: Object.entries(before)
        .map(([n, v]) => `${n}\t${v}\n`)
        .join(""),
      stderr: "ERROR 1146 (42S02) at line 1: Table 'performance_schema.file_summary_by_event_name' doesn't exist\n",
    });
    expect(reading).toEqual({ counters: { status: before, fileIo: null, fileIoUnavailable: "performance_schema.file_summary_by_event_name absent" } });
  });

  test("when MySQL does not answer are replaced by the reason in a few words", () => {
    const refused = interpretIoQuery({
      exitCode: 1,
      stdout: "",
      stderr: "ERROR 2002 (HY000): Can't connect to local MySQL server through socket '/var/run/mysqld/mysqld.sock' (2)\n",
    });
    expect(refused).toEqual({
      unreachable: "MySQL unreachable (ERROR 2002: Can't connect to local MySQL server through socket '/var/run/mysqld/mysqld.sock' (2))",
    });
    const denied = interpretIoQuery({
      exitCode: 1,
      stdout: "",
      stderr: "mysql: [Warning] something\nERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: YES)\n",
    });
    expect(denied).toEqual({ unreachable: "MySQL unreachable (ERROR 1045: Access denied for user 'root'@'localhost' (using password: YES))" });
    expect(interpretIoQuery({ exitCode: 127, stdout: "", stderr: "sh: 1: exec: mysql: not found\n" })).toEqual({
      unreachable: "no mysql client in the container",
    });
  });

  test("are read by one mysql invocation whose password comes from the container's own environment", () => {
    expect(ioCountersCommand).toEqual([
      "sh",
      "-c",
      `MYSQL_PWD="$MYSQL_ROOT_PASSWORD" exec mysql -uroot --connect-timeout=5 -N -B -e "SHOW GLOBAL STATUS WHERE Variable_name IN ('Uptime','Innodb_data_reads','Innodb_data_writes','Innodb_data_fsyncs','Innodb_data_read','Innodb_data_written','Innodb_os_log_written','Com_commit','Handler_commit'); SELECT 'innodb_file_io', @@GLOBAL.performance_schema, SUM(COUNT_READ), SUM(SUM_TIMER_READ), SUM(COUNT_WRITE), SUM(SUM_TIMER_WRITE), SUM(COUNT_MISC), SUM(SUM_TIMER_MISC) FROM performance_schema.file_summary_by_event_name WHERE EVENT_NAME LIKE 'wait/io/file/innodb/%';"`,
    ]);
    // Inside sh's double quotes these would be interpreted.
    expect(ioCountersSql).not.toMatch(/["$`\\]/);
  });
});

describe("storage-monitor's I/O rates", () => {
  const previous = counters(mysqlOutput(before, timersBefore));
  const current = counters(mysqlOutput(after, timersAfter));

  test("are the counters' differences per second, and the average latency of one operation in ms", () => {
    const rates = ioRates(previous, current, 10_000);
    expect(rates.readsPerSecond).toBe(12);
    expect(rates.writesPerSecond).toBe(340.5);
    expect(rates.fsyncsPerSecond).toBe(98);
    expect(rates.readMiBPerSecond).toBe(2);
    expect(rates.writtenMiBPerSecond).toBe(5);
    expect(rates.redoMiBPerSecond).toBeCloseTo(1.2, 12);
    expect(rates.commitsPerSecond).toBe(40);
    expect(rates.handlerCommitsPerSecond).toBe(120);
    expect(rates.readLatencyMs).toBeCloseTo(0.21, 12);
    expect(rates.writeLatencyMs).toBeCloseTo(0.05, 12);
    expect(rates.fsyncLatencyMs).toBeCloseTo(1.8, 12);
    expect(rates.latencySource).toBe("performance_schema");
    expect(rates.note).toBeUndefined();
  });

  test("show in the status line and in --json", () => {
    const figures = ioFigures({ atMs: 5_000, counters: previous }, { atMs: 15_000, reading: { counters: current } });
    expect(formatIo(figures)).toBe(
      "io 12.0 r/s 340.5 w/s 98.0 fsync/s, read 2.00 written 5.00 redo 1.20 MiB/s, 40.0 commit/s, lat r 0.21 w 0.05 fsync 1.80 ms",
    );
    const json = ioJson(figures);
    expect(json).toMatchObject({
      intervalMs: 10_000,
      readsPerSecond: 12,
      writesPerSecond: 340.5,
      fsyncsPerSecond: 98,
      readMiBPerSecond: 2,
      writtenMiBPerSecond: 5,
      redoMiBPerSecond: 1.2,
      commitsPerSecond: 40,
      handlerCommitsPerSecond: 120,
      readLatencyMs: 0.21,
      writeLatencyMs: 0.05,
      fsyncLatencyMs: 1.8,
      latencySource: "performance_schema",
      latencyUnavailable: null,
      note: null,
      unavailable: null,
    });
    expect(json.counters).toEqual({
      status: after,
      performanceSchema: { reads: 4100, readPs: 821_000_000_000, writes: 32000, writePs: 1_600_000_000_000, misc: 9500, miscPs: 12_900_000_000_000 },
    });
  });

  test("have no latency for an operation that did not happen in the interval", () => {
    const noReads = counters(mysqlOutput(after, "1\t4000\t800000000000\t32000\t1600000000000\t9500\t12900000000000"));
    const figures = ioFigures({ atMs: 0, counters: previous }, { atMs: 10_000, reading: { counters: noReads } });
    expect(figures.rates?.readLatencyMs).toBeUndefined();
    expect(formatIo(figures)).toBe("io 12.0 r/s 340.5 w/s 98.0 fsync/s, read 2.00 written 5.00 redo 1.20 MiB/s, 40.0 commit/s, lat r - w 0.05 fsync 1.80 ms");
    expect(ioJson(figures).readLatencyMs).toBeNull();
  });

  test("without performance_schema have rates but no latency, and the line says why", () => {
    const off = "0\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL";
    const figures = ioFigures(
      { atMs: 0, counters: counters(mysqlOutput(before, off)) },
      { atMs: 10_000, reading: { counters: counters(mysqlOutput(after, off)) } },
    );
    expect(figures.rates?.writesPerSecond).toBe(340.5);
    expect(figures.rates?.readLatencyMs).toBeUndefined();
    expect(formatIo(figures)).toBe(
      "io 12.0 r/s 340.5 w/s 98.0 fsync/s, read 2.00 written 5.00 redo 1.20 MiB/s, 40.0 commit/s, latency n/a (performance_schema off)",
    );
    expect(ioJson(figures)).toMatchObject({
      writesPerSecond: 340.5,
      readLatencyMs: null,
      writeLatencyMs: null,
      fsyncLatencyMs: null,
      latencySource: null,
      latencyUnavailable: "performance_schema off",
    });
  });

  test("are none, never negative, when a counter went down: the server restarted", () => {
    const restarted = counters(
      mysqlOutput({ ...after, Uptime: 4, Innodb_data_reads: 300, Innodb_data_writes: 25 }, "1\t10\t1000000\t20\t2000000\t30\t3000000"),
    );
    const figures = ioFigures({ atMs: 0, counters: current }, { atMs: 10_000, reading: { counters: restarted } });
    expect(figures.rates).toEqual({ latencySource: "performance_schema", note: "counters reset (server restarted)" });
    expect(formatIo(figures)).toBe("io counters reset (server restarted): no rates this interval");
    expect(ioJson(figures)).toMatchObject({
      readsPerSecond: null,
      writesPerSecond: null,
      readLatencyMs: null,
      note: "counters reset (server restarted)",
      intervalMs: 10_000,
    });
  });

  test("keep the status rates when only performance_schema's timers were reset (TRUNCATE TABLE)", () => {
    const truncated = counters(mysqlOutput(after, "1\t5\t1000000\t6\t2000000\t7\t3000000"));
    const figures = ioFigures({ atMs: 0, counters: previous }, { atMs: 10_000, reading: { counters: truncated } });
    expect(figures.rates?.readsPerSecond).toBe(12);
    expect(figures.rates?.readLatencyMs).toBeUndefined();
    expect(formatIo(figures)).toBe(
      "io 12.0 r/s 340.5 w/s 98.0 fsync/s, read 2.00 written 5.00 redo 1.20 MiB/s, 40.0 commit/s, latency n/a (performance_schema counters reset)",
    );
  });

  test("are none on the first sample: there is nothing to diff", () => {
    const figures = ioFigures(undefined, { atMs: 0, reading: { counters: previous } });
    expect(figures.rates).toBeUndefined();
    expect(formatIo(figures)).toBe("io first sample (rates from the next one)");
    expect(ioJson(figures)).toMatchObject({
      readsPerSecond: null,
      intervalMs: null,
      latencySource: "performance_schema",
      note: "first sample: rates from the next one",
    });
    expect(ioJson(figures).counters?.status.Innodb_data_reads).toBe(5000);
  });

  test("say why when MySQL could not be asked, with no counters", () => {
    const figures = ioFigures({ atMs: 0, counters: previous }, { atMs: 10_000, reading: { unreachable: "pod not Ready" } });
    expect(formatIo(figures)).toBe("io n/a: pod not Ready");
    expect(ioJson(figures)).toMatchObject({ unavailable: "pod not Ready", counters: null, readsPerSecond: null, latencySource: null });
  });

  test("after a sample without counters span the time since the last one that had them", () => {
    const figures = ioFigures({ atMs: 0, counters: previous }, { atMs: 20_000, reading: { counters: current } });
    expect(figures.intervalMs).toBe(20_000);
    expect(figures.rates?.readsPerSecond).toBe(6);
    expect(figures.rates?.commitsPerSecond).toBe(20);
  });
});
