// What the files of a MySQL (or MariaDB) data directory hold, by name: which
// writes carry commits, and which files a power cut may drop without
// touching any.

/**
 * The logs a commit is written to before it is acknowledged: InnoDB's redo
 * log (MySQL 8.0.30 and later: #innodb_redo/#ib_redoN; older MySQL and
 * MariaDB: ib_logfileN) and the binary log (MySQL: binlog.NNNNNN; a
 * --log-bin base name: NAME-bin.NNNNNN). A regular expression for lazyfs's
 * armed cut, matched against paths relative to the layer.
 */
export const commitLogPattern = String.raw`(#ib_redo[0-9]+|ib_logfile[0-9]+|binlog\.[0-9]{6}|-bin\.[0-9]{6})$`;

/** Temporary tablespaces and files: nothing durable lives there, so losing them proves nothing. */
const temporary = /(^|\/)(ibtmp[0-9]+|#innodb_temp\/.*|#sql.*|.*\.(tmp|TMP))$/;

/** Whether a file's unsynced bytes, dropped by a cut, could have held committed data. */
export const holdsDurableData = (path: string): boolean => !temporary.test(path);

/** Bytes a cut dropped from the files that hold durable data (the rest is temporary). */
export function durableBytesDropped(files: { path: string; droppedBytes: number }[]): number {
  return files.filter((f) => holdsDurableData(f.path)).reduce((sum, f) => sum + f.droppedBytes, 0);
}
