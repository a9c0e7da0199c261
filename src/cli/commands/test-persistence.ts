import { randomBytes } from "node:crypto";
import { disruptionsOf, LedgerWriter, summarizeLedger, type LedgerSummary } from "../../ledger/writer.ts";
import { deletePodAndMeasureRecovery, overBudget, overlapSeconds, phaseDurations } from "../../recovery/pod-replacement.ts";
import { dataChanged } from "../../mysql/verify.ts";
import { checksumTables } from "../../mysql/dataset.ts";
import { ledgerDatabase } from "../../ledger/table.ts";
import { timeouts } from "../../timeouts.ts";
import { parseOptions } from "../args.ts";
import { UsageError, type Command } from "../command.ts";
import { clusterOptions, clusterOptionsOf, clusterUsage, connectTool, toolSettings } from "../tool.ts";

const usage = `usage: storage-conformance test-persistence [options]
       (npm run test-persistence -- [options], make test-persistence ARGS="...")

The design's persistence test on a running setup: writes test records into a
database of their own, deletes the MySQL pod, waits for its replacement, and
checks that every record came back unchanged (count and checksum), within the
recovery budget (SC_TIMEOUT_RECOVERY_BUDGET_MS, default 30000). The test
database is dropped afterwards unless --keep. Lost data or a recovery over
budget is a failed check.

  --rows N           test records to write (default 1000)
  --database NAME    the test database (default storage_persistence_test)
  --keep             keep the test database
  --writes           also run the ledger writer (a pod committing about 100
                     small transactions a second through the design's Service)
                     across the deletion, and check that every commit it saw
                     acknowledged is in the table: prints the counts and the
                     write gap; a lost, phantom or duplicated commit fails
${clusterUsage}`;

const options = {
  ...clusterOptions,
  rows: { type: "string" },
  database: { type: "string" },
  keep: { type: "boolean" },
  writes: { type: "boolean" },
} as const;

export const testPersistence: Command = {
  name: "test-persistence",
  summary: "writes records, deletes the MySQL pod, verifies them after recovery",
  usage,
  async run(argv, io) {
    const args = parseOptions(argv, options, "test-persistence");
    if (args.help) {
      io.out(usage);
      return 0;
    }
    const cluster = clusterOptionsOf(args);
    io.format = cluster.format;
    const rowsText = args.rows ?? "1000";
    const rows = /^[1-9]\d{0,6}$/.test(rowsText) ? Number(rowsText) : NaN;
    if (!(rows <= 1_000_000)) throw new UsageError(`--rows ${JSON.stringify(rowsText)} is not a whole number from 1 to 1000000`);
    const database = args.database ?? "storage_persistence_test";
    if (!/^[A-Za-z0-9_]+$/.test(database))
      throw new UsageError(`--database ${JSON.stringify(database)} is not a database name here`, "use letters, digits and _ only");
    const settings = toolSettings();
    const setup = await connectTool(cluster, settings);

    const run = randomBytes(8).toString("hex");
    let db = await setup.open();
    await db.connection.query(`CREATE DATABASE IF NOT EXISTS \`${database}\``);
    await db.connection.query(`CREATE TABLE IF NOT EXISTS \`${database}\`.records (id INT PRIMARY KEY, run CHAR(16) NOT NULL, payload VARCHAR(64) NOT NULL)`);
    await db.connection.query(`DELETE FROM \`${database}\`.records`);
    for (let from = 1; from <= rows; from += 5000) {
      const values = Array.from({ length: Math.min(5000, rows - from + 1) }, (_, i) => [from + i, run, `record ${from + i} of run ${run}`]);
      await db.connection.query(`INSERT INTO \`${database}\`.records (id, run, payload) VALUES ?`, [values]);
    }
    const expected = await checksumTables(db.connection, database, ["records"]);
    const before = db.pod;
    const serverVersion = db.serverVersion;
    await db.close();
    io.out(`wrote ${rows} test records to ${database}.records (checksum ${expected.records!.checksum}); deleting pod ${before}`);

    let failure: string | undefined;
    const writer = args.writes ? await LedgerWriter.start(setup, `test-persistence-${run}`, settings.ledger) : undefined;
    let ledger: LedgerSummary | undefined;
    try {
      const moments: number[] = [];
      const phases = await deletePodAndMeasureRecovery(setup, expected, database, { onDisrupted: (t) => moments.push(t) });
      // Changed data is this command's error (exit 1, one line), as before anything else is said.
      if (phases.dataDifferences.length) throw new Error(dataChanged(phases.across, phases.dataDifferences));
      if (writer) {
        await writer.settle();
        ledger = summarizeLedger(await writer.stopAndVerify(), disruptionsOf("pod deletion", moments));
        if (ledger.violations) failure = `acknowledged writes were not all kept:\n   ${ledger.violations}`;
      }
      const segments = phaseDurations(phases)
        .map((d) => `${d.phase.replace(/_s$/, "")} +${d.seconds}s`)
        .join(", ");
      failure = overBudget(phases, timeouts.recoveryBudgetMs, 1) ?? failure;
      const summary = {
        verdict: failure ? "over budget" : "verified",
        server_version: serverVersion,
        rows,
        recovery_s: phases.firstVerifiedQuery_s,
        budget_s: timeouts.recoveryBudgetMs / 1000,
        overlap_s: overlapSeconds(phases),
        phases,
        ...(ledger ? { ledger: Object.fromEntries(Object.entries(ledger.values).map(([k, v]) => [k, v.value])) } : {}),
      };
      const v = (name: string) => ledger?.values[name]?.value;
      io.out(
        cluster.format === "json"
          ? JSON.stringify(summary, null, 2)
          : [
              failure
                ? `❌ FAILURE: ${ledger?.violations ? "acknowledged writes were lost" : "recovery is over budget"}`
                : "✅ SUCCESS: Data persistence verified!",
              `   - ${rows} test records survived the pod restart (same count and checksum), on ${serverVersion}`,
              `   - Recovery time: ${phases.firstVerifiedQuery_s} s (budget ${summary.budget_s} s): ${segments}`,
              ...(ledger
                ? [
                    `   - Writes in flight: ${v("ledger_acknowledged")} commits acknowledged, ${v("ledger_lost")} lost, ${v("ledger_in_doubt")} in doubt, ${v("ledger_phantom")} phantom, ${v("ledger_duplicated")} duplicated; ` +
                      `write gap ${v("cycle1_write_gap_s")} s (no commit acknowledged), ${v("commits_per_s_before")} commits/s before, ${v("commits_per_s_after")} after`,
                    ...ledger.notes.map((n) => `   - ${n}`),
                  ]
                : []),
              ...(summary.overlap_s > 0 ? [`   - the new pod ran ${summary.overlap_s} s beside the old one on the ReadWriteOnce volume`] : []),
              ...(failure ? [`   ${failure}`] : []),
            ].join("\n"),
      );
    } finally {
      await writer?.remove();
      if (!args.keep) {
        db = await setup.open();
        await db.connection.query(`DROP DATABASE IF EXISTS \`${database}\``);
        if (writer) await db.connection.query(`DROP DATABASE IF EXISTS \`${ledgerDatabase}\``);
        await db.close();
      }
    }
    return failure ? 1 : 0;
  },
};
