import fs from 'node:fs';
import path from 'node:path';
import { TaskioError } from './errors.js';

/** What {@link ensurePrivateDir} does when the directory is missing. */
export interface PrivateDirOptions {
  /** Create it (and missing parents) with mode 0700. Default true. */
  create?: boolean;
}

/**
 * Makes sure `dir` is a directory only this user controls, as tmux and ssh-agent check their
 * socket directories: created 0700 when missing, then refused unless it is a real directory (not a
 * symlink), owned by this process's effective uid, and not writable by group or others. taskio
 * trusts what it finds under such a directory (FIFO sets, state roots, the daemon's socket);
 * anywhere else another user could plant a FIFO, a symlink or a whole tree.
 * @returns the absolute path.
 * @throws TaskioError `ERR_UNSAFE_DIR` naming the directory and the reason; system errors of mkdir.
 */
export function ensurePrivateDir(dir: string, opts: PrivateDirOptions = {}): string {
  const abs = path.resolve(dir);
  if (opts.create !== false) {
    try {
      fs.mkdirSync(abs, { recursive: true, mode: 0o700 });
    } catch (err) {
      // Something else is there: the checks below say what.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const st = fs.lstatSync(abs);
  const uid = process.geteuid?.() ?? st.uid;
  let why = '';
  if (st.isSymbolicLink()) why = 'it is a symlink';
  else if (!st.isDirectory()) why = 'it is not a directory';
  else if (st.uid !== uid) why = `it is owned by uid ${st.uid}, not ${uid}`;
  else if ((st.mode & 0o022) !== 0) why = `it is writable by ${st.mode & 0o020 ? 'its group' : 'others'} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`;
  if (why) throw new TaskioError('ERR_UNSAFE_DIR', `refusing directory ${abs}: ${why}`);
  return abs;
}
