import fs from 'node:fs';
import path from 'node:path';
import { ReaderLock } from '../fifo/index.js';
import { validateId } from '../ids.js';
import type { LogSink } from '../log.js';
import { notPrivate } from '../privateDir.js';
import { isCode, unlinkIfPresent } from '../sys/index.js';

/** The streams of a FIFO set, as its FIFOs are named: `<id>-stdin|-stdout|-stderr`. */
const streams = ['stdin', 'stdout', 'stderr'] as const;

/**
 * The id of a FIFO set directory as cio's Creator names it (`newFIFOSetInDir`: `mkdtemp` of
 * `<id>-`, six characters added), or null for a name no Creator gives.
 */
export function fifoSetId(name: string): string | null {
  const m = /^(.+)-[A-Za-z0-9]{6}$/.exec(name);
  if (!m) return null;
  try {
    return validateId(m[1]);
  } catch {
    return null;
  }
}

/**
 * The name of the set directory inside `fifoRoot` that an exec's stdio paths name — each path
 * `<fifoRoot>/<id>-XXXXXX/<id>-<its stream>`, all in one directory — or null when they name
 * anything else (paths a client made elsewhere, or none): the paths come from a request, and only
 * a set of this root's FIFO directory is ever removed by the daemon.
 */
export function fifoSetOf(fifoRoot: string, stdio: { stdin: string; stdout: string; stderr: string }): string | null {
  let name: string | null = null;
  for (const stream of streams) {
    const p = stdio[stream];
    if (p === '') continue;
    const dir = path.dirname(p);
    const set = path.basename(dir);
    const id = fifoSetId(set);
    if (id === null || !path.isAbsolute(p) || path.normalize(p) !== p || path.dirname(dir) !== fifoRoot || path.basename(p) !== `${id}-${stream}`) return null;
    if (name !== null && name !== set) return null;
    name = set;
  }
  return name;
}

/**
 * What {@link removeFifoSet} did: `removed`; `read` — a client holds the set's reader lock, so
 * it still reads and removes the set itself; `left` — something in it is not one of its FIFOs
 * (logged); `gone` — nothing was there.
 */
export type FifoSetRemoval = 'removed' | 'read' | 'left' | 'gone';

/**
 * Removes the FIFO set directory `name` of `fifoRoot` (a private directory of this user, checked
 * by the caller) when no client reads it: what a client killed before it removed its own set left.
 * Never recursively: the directory must be a private one of this user whose every entry is a FIFO
 * (lstat, no symlink followed) named as the set's are — of any owner: no other user can put
 * anything in a private directory, and runsc (runc for a non-root `-u`) chowns an exec's FIFOs to
 * the exec's user (65534 in runsc's sandbox), so a set of a killed runsc client is that user's —;
 * then its reader lock (the
 * guarding FIFO's `flock`, see {@link ReaderLock}) is taken on stdout and stderr — a holder is a
 * live reader, and the set stays — and held while the FIFOs are unlinked and the then-empty
 * directory is removed. Anything else in it: the directory stays as it is, with a warning naming
 * it. Entries that vanish meanwhile (the client removing its set itself) are no error.
 */
export function removeFifoSet(fifoRoot: string, name: string, logger: LogSink): FifoSetRemoval {
  const dir = path.join(fifoRoot, name);
  const id = fifoSetId(name);
  const st = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (!st) return 'gone';
  const why = id === null ? 'its name is not one a FIFO set gets' : notPrivate(st);
  if (why !== '') return leave(logger, dir, why);
  const entries = listDir(dir);
  if (entries === null) return 'gone';
  const own = new Set(streams.map((s) => `${id}-${s}`));
  const foreign = entries.filter((e) => {
    const est = fs.lstatSync(path.join(dir, e), { throwIfNoEntry: false });
    return est !== undefined && (!own.has(e) || !est.isFIFO());
  });
  if (foreign.length > 0) return leave(logger, dir, `it holds ${foreign.map((e) => JSON.stringify(e)).join(', ')}, which ${foreign.length === 1 ? 'is not one' : 'are not'} of its FIFOs`);
  const locks: ReaderLock[] = [];
  try {
    for (const stream of ['stdout', 'stderr']) {
      try {
        locks.push(ReaderLock.acquire(path.join(dir, `${id}-${stream}`), { create: false }));
      } catch (err) {
        if (isCode(err, 'EBUSY')) return 'read';
        if (isCode(err, 'ENOENT')) continue;
        if (isCode(err, 'ERR_NOT_FIFO') || isCode(err, 'ERR_UNSAFE_DIR')) return leave(logger, dir, (err as Error).message);
        throw err;
      }
    }
    for (const e of entries) unlinkIfPresent(path.join(dir, e));
    try {
      fs.rmdirSync(dir);
    } catch (err) {
      if (isCode(err, 'ENOENT')) return 'removed';
      if (isCode(err, 'ENOTEMPTY')) return leave(logger, dir, 'something was put in it meanwhile');
      throw err;
    }
  } finally {
    for (const l of locks) l.release();
  }
  return 'removed';
}

/** The entries of `dir`; null when it is gone. */
function listDir(dir: string): string[] | null {
  try {
    return fs.readdirSync(dir);
  } catch (err) {
    if (isCode(err, 'ENOENT')) return null;
    throw err;
  }
}

function leave(logger: LogSink, dir: string, why: string): 'left' {
  logger.warn({ dir }, `an exec FIFO set directory is left as it is: ${why}`);
  return 'left';
}
