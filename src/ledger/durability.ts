// Which server settings let an acknowledged commit be lost, and on which
// failure, as the MySQL and MariaDB manuals describe them. Pure.

export interface DurabilityRisk {
  setting: string;
  value: string;
  /** What it loses, and on which failure. */
  risk: string;
  /** True when even a crash of mysqld alone (SIGKILL, a pod's container killed) loses commits. */
  losesOnMysqldCrash: boolean;
}

/**
 * The settings (SHOW GLOBAL VARIABLES) under which an acknowledged commit can
 * be lost, most dangerous first. Values as MySQL and MariaDB document them.
 */
export function durabilityRisks(settings: Record<string, string>): DurabilityRisk[] {
  const risks: DurabilityRisk[] = [];
  const value = (name: string) => settings[name]?.toUpperCase();
  const flushTimeoutS = settings.innodb_flush_log_at_timeout ?? "1";
  if (value("innodb_flush_log_at_trx_commit") === "0")
    risks.push({
      setting: "innodb_flush_log_at_trx_commit",
      value: "0",
      losesOnMysqldCrash: true,
      // MySQL 8.0.22+ has dedicated log writer threads (innodb_log_writer_threads, ON by default):
      // they write the log buffer to the OS as soon as it fills, whatever this setting says, so a
      // crash of mysqld loses only what they had not yet written; only the flush waits for the timer.
      risk:
        value("innodb_log_writer_threads") === "ON"
          ? `the redo log is flushed every ${flushTimeoutS} s, not at commit: an OS crash or power loss loses the last ${flushTimeoutS} s of acknowledged commits; a crash of mysqld loses only those the log writer threads had not yet written to the OS (milliseconds' worth, often none)`
          : `the redo log is written and flushed every ${flushTimeoutS} s, not at commit: a crash of mysqld loses the last ${flushTimeoutS} s of acknowledged commits`,
    });
  if (value("innodb_flush_log_at_trx_commit") === "2")
    risks.push({
      setting: "innodb_flush_log_at_trx_commit",
      value: "2",
      losesOnMysqldCrash: false,
      risk: `the redo log is flushed every ${flushTimeoutS} s: an OS crash or power loss loses the last ${flushTimeoutS} s of acknowledged commits`,
    });
  if (["NOSYNC", "LITTLESYNC", "O_DIRECT_NO_FSYNC"].includes(value("innodb_flush_method") ?? ""))
    risks.push({
      setting: "innodb_flush_method",
      value: settings.innodb_flush_method!,
      losesOnMysqldCrash: false,
      risk: "files are not (all) fsynced: an OS crash or power loss can lose or tear what was acknowledged",
    });
  if (["OFF", "0"].includes(value("innodb_doublewrite") ?? ""))
    risks.push({
      setting: "innodb_doublewrite",
      value: settings.innodb_doublewrite!,
      losesOnMysqldCrash: false,
      risk: "pages half-written at a power loss cannot be repaired",
    });
  if (value("log_bin") === "ON" && settings.sync_binlog !== undefined && settings.sync_binlog !== "1")
    risks.push({
      setting: "sync_binlog",
      value: settings.sync_binlog,
      losesOnMysqldCrash: false,
      risk: "the binary log is not synced at every commit: an OS crash or power loss can lose binlog entries of acknowledged commits",
    });
  return risks.sort((a, b) => Number(b.losesOnMysqldCrash) - Number(a.losesOnMysqldCrash));
}
