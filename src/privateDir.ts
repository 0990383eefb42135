import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TaskioError } from './errors.js';
import { isWithin } from './pathWithin.js';

/** What {@link ensurePrivateDir} does. */
export interface PrivateDirOptions {
  /** Create it (and missing parents) with mode 0700. Default true. */
  create?: boolean;
  /**
   * An ancestor of the directory from which every directory down to it is checked too, not only
   * the last one: a private directory inside a parent another user controls can be renamed away
   * and replaced after the check. Default: the directory alone.
   */
  from?: string;
}

/**
 * Makes sure `dir` is a directory only this user controls, as tmux and ssh-agent check their
 * socket directories: created 0700 when missing, then refused unless it is a real directory (not a
 * symlink), owned by this process's effective uid, and not writable by group or others. taskio
 * trusts what it finds under such a directory (FIFO sets, state roots, the daemon's socket);
 * anywhere else another user could plant a FIFO, a symlink or a whole tree.
 * @returns the absolute path.
 * @throws TaskioError `ERR_UNSAFE_DIR` naming the directory and the reason; `ERR_INVALID_ARG_VALUE`
 * when `from` is not an ancestor of `dir`; system errors of mkdir.
 */
export function ensurePrivateDir(dir: string, opts: PrivateDirOptions = {}): string {
  const abs = path.resolve(dir);
  const from = path.resolve(opts.from ?? abs);
  if (!isWithin(from, abs)) throw new TaskioError('ERR_INVALID_ARG_VALUE', `${from} is not an ancestor of ${abs}`);
  const rel = path.relative(from, abs);
  let step = from;
  checkDir(step, opts.create !== false, true);
  for (const part of rel === '' ? [] : rel.split(path.sep)) {
    step = path.join(step, part);
    checkDir(step, opts.create !== false, false);
  }
  return abs;
}

/**
 * taskio's directory for this user's runtime files (FIFO sets, container state, the daemon):
 * `/run/taskio` for root, `$XDG_RUNTIME_DIR/taskio` for another user, else `<tmpdir>/taskio-<uid>`
 * — tmux's `/tmp/tmux-<uid>`: a name per uid in the shared temp directory, which the sticky bit
 * keeps others from renaming, made 0700 and checked before every use.
 */
export function runtimeDir(): string {
  const uid = process.geteuid?.();
  if (uid === 0) return '/run/taskio';
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'taskio');
  return path.join(os.tmpdir(), `taskio-${uid ?? 'user'}`);
}

/**
 * {@link ensurePrivateDir} for a root taskio keeps its files in: when `dir` lies under
 * {@link runtimeDir} (the defaults do), every directory from that base down to `dir` is checked.
 */
export function ensureRuntimeRoot(dir: string): string {
  const base = runtimeDir();
  return ensurePrivateDir(dir, isWithin(base, path.resolve(dir)) ? { from: base } : {});
}

function checkDir(dir: string, create: boolean, parents: boolean): void {
  if (create) {
    try {
      fs.mkdirSync(dir, { recursive: parents, mode: 0o700 });
    } catch (err) {
      // Something else is there: the checks below say what.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const why = notPrivate(fs.lstatSync(dir));
  if (why) throw new TaskioError('ERR_UNSAFE_DIR', `refusing directory ${dir}: ${why}`);
}

/**
 * Why a directory with this `lstat` result is not one only this user controls (a symlink, not a
 * directory, another owner, group- or other-writable), or `''` when it is. `uid` is the owner it must
 * have: this process's effective uid unless given.
 */
export function notPrivate(st: fs.Stats, uid: number = process.geteuid?.() ?? st.uid): string {
  if (st.isSymbolicLink()) return 'it is a symlink';
  if (!st.isDirectory()) return 'it is not a directory';
  if (st.uid !== uid) return `it is owned by uid ${st.uid}, not ${uid}`;
  if ((st.mode & 0o022) !== 0) return `it is writable by ${st.mode & 0o020 ? 'its group' : 'others'} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`;
  return '';
}
