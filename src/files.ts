import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * One clause for why a path could not be used, in words and never errno
 * text: a symbolic link loop, a link to nothing, a directory where a file was
 * expected, a file that cannot be read.
 */
export function describeFsError(error: unknown, path: string): string {
  const code = (error as { code?: string })?.code;
  switch (code) {
    case "ENOENT": {
      const dangling = (() => {
        try {
          return lstatSync(path).isSymbolicLink();
        } catch {
          return false;
        }
      })();
      return dangling ? "is a symbolic link to a path that does not exist" : "does not exist";
    }
    case "ELOOP":
      return "is a symbolic link loop (it resolves to itself)";
    case "EISDIR":
      return "is a directory, not a file";
    case "ENOTDIR":
      return "is not a directory (a part of its path is a file)";
    case "EACCES":
    case "EPERM":
      return "cannot be read: permission denied";
    case "ENAMETOOLONG":
      return "has a name too long for this system";
    case "EMFILE":
    case "ENFILE":
      return "cannot be opened: too many open files";
    case "EIO":
      return "cannot be read: input/output error";
    default:
      return `cannot be read${code ? ` (${code})` : ""}`;
  }
}

/** Why `path` cannot be read as a text file of at most `maxBytes`, or undefined when it can. */
export function textFileProblem(path: string, maxBytes: number): string | undefined {
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) return "is a directory, not a file";
    if (!stat.isFile()) return "is not a regular file";
    if (stat.size > maxBytes) return `is ${formatBytes(stat.size)}, over the limit of ${formatBytes(maxBytes)}`;
  } catch (error) {
    return describeFsError(error, path);
  }
  return undefined;
}

/**
 * Reads a text file; a problem (see describeFsError, binary content, size)
 * is thrown as `makeError(clause)`, which never quotes the content.
 */
export function readTextFile(path: string, maxBytes: number, makeError: (clause: string) => Error): string {
  const problem = textFileProblem(path, maxBytes);
  if (problem) throw makeError(problem);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw makeError(describeFsError(error, path));
  }
  if (bytes.includes(0)) throw makeError("is not a text file (it holds binary data)");
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw makeError("is not a text file (it is not UTF-8)");
  }
}

export function formatBytes(bytes: number): string {
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} bytes`;
}

/**
 * Why files cannot be written into the folder `dir`, or undefined when they
 * can: it names a file, a folder that cannot be created, or one that refuses
 * new files (permissions, a read-only or virtual filesystem such as /proc).
 * Creates the folder when it can, and probes it with a file it removes.
 */
export function writableFolderProblem(dir: string): string | undefined {
  try {
    if (!statSync(dir).isDirectory()) return `${dir} is a file, not a folder`;
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOENT") return `${dir} ${describeFsError(error, dir)}`;
    try {
      makeFolder(dir);
    } catch (mkdirError) {
      return `${dir} cannot be created: ${writeCause(mkdirError, dir)}`;
    }
  }
  const probe = join(dir, `.write-test-${process.pid}`);
  try {
    writeFileSync(probe, "", { flag: "wx" });
    rmSync(probe, { force: true });
  } catch (error) {
    return `${dir} cannot be written: ${writeCause(error, probe)}`;
  }
  return undefined;
}

/**
 * mkdir -p, one level at a time from the nearest folder that exists: Node's
 * own recursive mkdir never returns where the kernel answers "no such file"
 * to a new folder in a folder that exists (/proc, /sys).
 */
function makeFolder(dir: string): void {
  const missing: string[] = [];
  for (let at = dir; !existsSync(at); at = dirname(at)) {
    missing.unshift(at);
    if (dirname(at) === at) break;
  }
  for (const folder of missing) mkdirSync(folder);
}

/** Why a file or folder could not be made, in words. */
export function writeCause(error: unknown, path: string): string {
  const code = (error as { code?: string }).code;
  if (code === "EROFS") return "the filesystem is read-only";
  if (code === "EEXIST" || code === "ENOTDIR") return "a part of its path is a file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "ENOSPC") return "no space left on the device";
  // A folder that exists but where a new file "does not exist": procfs and sysfs answer so.
  if (code === "ENOENT") return "it takes no new files (a virtual filesystem such as /proc or /sys)";
  return describeFsError(error, path);
}
