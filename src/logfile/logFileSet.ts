import fs from 'node:fs';
import { promisify } from 'node:util';

const stat = promisify(fs.stat), open = promisify(fs.open), fstat = promisify(fs.fstat);

/** One file of a rotated log set as seen at one moment: `index` 0 is `name`, 1 is `name.1`, … */
export interface LogFileInfo {
  index: number;
  path: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
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
  for (let i = 0, missing = 0; missing <= gapLookahead; i++) {
    const p = rotatedPath(base, i);
    try {
      const st = await stat(p);
      out.push({ index: i, path: p, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs });
      missing = 0;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      out.push(null);
      missing++;
    }
  }
  while (out.length > 0 && out[out.length - 1] === null) out.pop();
  return out;
}

function same(a: (LogFileInfo | null)[], b: (LogFileInfo | null)[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i];
    return x === null ? y === null : y !== null && y !== undefined && x.ino === y.ino && x.dev === y.dev;
  });
}

/**
 * A consistent view of the rotation set of `base` (`base`, `base.1`, …): two sweeps of `stat`
 * that agree, so a rotation running meanwhile cannot make one file appear at two indexes or
 * hide another. Entry `i` is null where no file is (for a moment during a rotation).
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
export interface OpenLogFile {
  fd: number;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

/**
 * Opens the file that `info` describes and checks that it still is that file (same inode) —
 * a rotation may have moved another file to that name. Returns null when it is not.
 */
export async function openExpected(info: LogFileInfo): Promise<OpenLogFile | null> {
  let fd: number;
  try {
    fd = await open(info.path, fs.constants.O_RDONLY | 0o2000000 /* O_CLOEXEC */);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const st = await fstat(fd);
  if (st.ino !== info.ino || st.dev !== info.dev) {
    fs.close(fd, () => undefined);
    return null;
  }
  return { fd, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

/** Where `file` sits in `snap` (by identity), or -1 when it is no longer in the set. */
export function indexIn(snap: (LogFileInfo | null)[], file: { dev: number; ino: number }): number {
  return snap.findIndex((x) => x !== null && x.ino === file.ino && x.dev === file.dev);
}
