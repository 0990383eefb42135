import path from 'node:path';
import { TaskioError } from '../errors.js';

/**
 * docker's path rules of `docker cp` (moby's pkg/archive copy rules, restated): how an operand
 * names a task path or a local one, how a path splits into the directory a tar runs in and the
 * entry it archives, and where an archive of the source is extracted, under which name.
 */

/** An operand of `cp`: a task's path (`TASK:PATH`) or a local one (`PATH`, `-`). */
export interface CpOperand {
  /** The task, or null for a local path. */
  task: string | null;
  path: string;
}

/**
 * docker's `splitCpArg`: `TASK:PATH` names a task's path unless the operand is an absolute local
 * path or what comes before the first `:` starts with `.` (`./file:name` is a local file with a
 * colon in its name).
 */
export function splitCpArg(arg: string): CpOperand {
  if (arg.startsWith('/')) return { task: null, path: arg };
  const colon = arg.indexOf(':');
  if (colon < 0 || arg.startsWith('.')) return { task: null, path: arg };
  return { task: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

/** Whether the last element of `p` is `.` (`dir/.`: the directory's contents). */
export function specifiesCurrentDir(p: string): boolean {
  return p === '.' || p.endsWith('/.');
}

/** Whether `p` says it is a directory: a trailing `/` or `/.`. */
export function assertsDirectory(p: string): boolean {
  return p.endsWith('/') || specifiesCurrentDir(p);
}

/**
 * `cleaned` (a normalised form of `original`) with the trailing `/.` or `/` that `original` had,
 * which the rules read (moby's `PreserveTrailingDotOrSeparator`).
 */
export function preserveTrailing(cleaned: string, original: string): string {
  let p = cleaned;
  if (!specifiesCurrentDir(p) && specifiesCurrentDir(original)) p += p.endsWith('/') ? '.' : '/.';
  if (!p.endsWith('/') && original.endsWith('/')) p += '/';
  return p;
}

/** A task's path as an absolute one: docker reads `TASK:tmp/x` as `/tmp/x`; the trailing `/` or `/.` kept. */
export function taskPath(p: string): string {
  return preserveTrailing(path.posix.resolve('/', p), p);
}

/** A local path as an absolute one (relative to this process's directory); the trailing `/` or `/.` kept. */
export function localPath(p: string): string {
  return preserveTrailing(path.resolve(p), p);
}

/**
 * moby's `SplitPathDirEntry`: the directory to run tar in and the entry to archive there;
 * `/a/b/.` is `/a/b` and `.` (the contents of `b`), `/` is `/` and `.`.
 */
export function splitPathDirEntry(p: string): { dir: string; base: string } {
  let cleaned = path.posix.normalize(p);
  if (cleaned.length > 1 && cleaned.endsWith('/')) cleaned = cleaned.slice(0, -1);
  if (specifiesCurrentDir(p) && cleaned !== '/' && !cleaned.endsWith('/.')) cleaned += '/.';
  if (cleaned === '/') return { dir: '/', base: '.' };
  return { dir: path.posix.dirname(cleaned), base: path.posix.basename(cleaned) };
}

/** What a copy's destination is, as a stat of it found (symbolic links followed). */
export interface CopyDestination {
  path: string;
  exists: boolean;
  isDir: boolean;
}

/** Where an archive of the source is extracted and the name its top entry takes there. */
export interface CopyPlan {
  /** The directory the archive is extracted in. */
  dir: string;
  /** The name of the copy in `dir`: the archive's top entry is renamed to it (`.`: extracted as it is). */
  name: string;
}

/**
 * docker's decision (moby's `PrepareArchiveCopy`): a destination directory that exists gets the
 * source under its own name (`srcName`; `.` for a directory's contents); otherwise the copy is made
 * at the destination's path, in its parent directory under its base name — a file replaced by a
 * file, a directory made. `display` names the destination in messages (`box:/tmp/x`).
 * @throws TaskioError `ERR_INVALID_ARG_VALUE`: a directory onto a file; a file into a directory
 *   that does not exist (`DEST/`).
 */
export function planCopy(src: { isDir: boolean; name: string; display: string }, dst: CopyDestination, display: string): CopyPlan {
  if (dst.exists && dst.isDir) return { dir: dst.path, name: src.name };
  const { dir, base } = splitPathDirEntry(dst.path);
  if (dst.exists && src.isDir) throw new TaskioError('ERR_INVALID_ARG_VALUE', `cannot copy directory ${src.display} to ${display}: it is a file`);
  if (!dst.exists && (base === '.' || (!src.isDir && assertsDirectory(dst.path)))) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `no such directory: ${display} (the destination directory must exist)`);
  }
  return { dir, name: base };
}
