import fs from 'node:fs';
import { promisify } from 'node:util';
import { notRegularFile } from '../notRegularFile.js';
import { openRegularFile } from './regularFile.js';

const lstat = promisify(fs.lstat), close = promisify(fs.close);

/** One file of a rotated log set as seen at one moment: `index` 0 is `name`, 1 is `name.1`, … */
export interface LogFileInfo extends FileIdentity {
  index: number;
  path: string;
  size: number;
  mtimeMs: number;
}

/**
 * Which file it is, whatever its name: device and inode, and the birth time, because a file
 * removed by a rotation frees its inode number for the next file made (ext4 and tmpfs hand it out
 * again at once), and a reader that no longer holds the old one open must not take the new one for
 * it. (0 where the file system keeps no birth time: then device and inode decide.)
 */
export interface FileIdentity {
  dev: number;
  ino: number;
  birthtimeMs: number;
}

/** Whether `a` and `b` are the same file ({@link FileIdentity}). */
export function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.birthtimeMs === b.birthtimeMs;
}

/** The path of the file at `index` in the rotation set of `base`. */
export function rotatedPath(base: string, index: number): string {
  return index === 0 ? base : `${base}.${index}`;
}

// Rotation renames leave a brief gap in the numbering; look a few indexes past a missing one.
const gapLookahead = 3;
const maxSweeps = 100;

async function sweep(base: string): Promise<(LogFileInfo | null)[]> {
  const out: (LogFileInfo | null)[] = [];
  // The indexes are looked at a window at a time, concurrently: one round trip to the thread pool
  // for a set that was never rotated (`base` and the four missing after it), not five in a row.
  // The window reaches the end when the next file exists and the ones after it do not.
  for (let missing = 0; missing <= gapLookahead;) {
    const window = Array.from({ length: gapLookahead + 2 - missing }, (_, k) => out.length + k);
    for (const info of await Promise.all(window.map((i) => lookAt(base, i)))) {
      if (missing > gapLookahead) break; // past the end: what lies beyond the gap is not in the set
      out.push(info);
      missing = info === null ? missing + 1 : 0;
    }
  }
  while (out.length > 0 && out[out.length - 1] === null) out.pop();
  return out;
}

/** The file at `index` of the set, or null when there is none. */
async function lookAt(base: string, index: number): Promise<LogFileInfo | null> {
  const p = rotatedPath(base, index);
  try {
    // lstat: a symlink in the set is refused, never followed to a file outside it.
    const st = await lstat(p);
    if (!st.isFile()) throw notRegularFile(p, st);
    return { index, path: p, dev: st.dev, ino: st.ino, birthtimeMs: st.birthtimeMs, size: st.size, mtimeMs: st.mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return null;
  }
}

function same(a: (LogFileInfo | null)[], b: (LogFileInfo | null)[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i];
    return x === null ? y === null : y !== null && y !== undefined && x.ino === y.ino && x.dev === y.dev;
  });
}

/**
 * A consistent view of the rotation set of `base` (`base`, `base.1`, …): two sweeps of `lstat`
 * that agree, so a rotation running meanwhile cannot make one file appear at two indexes or
 * hide another. Entry `i` is null where no file is (for a moment during a rotation). Anything but a
 * regular file in the set (a symlink, a FIFO) throws `ERR_NOT_REGULAR_FILE` naming it.
 */
export async function snapshotLogFiles(base: string): Promise<(LogFileInfo | null)[]> {
  let prev = await sweep(base);
  for (let n = 0; n < maxSweeps; n++) {
    const next = await sweep(base);
    if (same(prev, next)) return next;
    prev = next;
    await new Promise((r) => setImmediate(r));
  }
  return prev;
}

/** An open file of the set, known by identity (a rename does not change it). */
export interface OpenLogFile extends FileIdentity {
  fd: number;
  size: number;
  mtimeMs: number;
  /** The writer is done with it (a file held past its removal): `size` is final. */
  complete?: boolean;
}

/**
 * Opens the file that `info` describes (never following a symlink, never blocking on a FIFO) and
 * checks that it still is that file (same inode) — a rotation may have moved another file to that
 * name. Returns null when it is not.
 */
export async function openExpected(info: LogFileInfo): Promise<OpenLogFile | null> {
  let opened: Awaited<ReturnType<typeof openRegularFile>>;
  try {
    opened = await openRegularFile(info.path, fs.constants.O_RDONLY);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const { fd, stat: st } = opened;
  if (st.ino !== info.ino || st.dev !== info.dev) {
    await close(fd);
    return null;
  }
  return { fd, dev: st.dev, ino: st.ino, birthtimeMs: st.birthtimeMs, size: st.size, mtimeMs: st.mtimeMs };
}

/** Where `file` sits in `snap` (by identity), or -1 when it is no longer in the set. */
export function indexIn(snap: (LogFileInfo | null)[], file: FileIdentity): number {
  return snap.findIndex((x) => x !== null && sameFile(x, file));
}
