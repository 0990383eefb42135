import fs from 'node:fs';
import path from 'node:path';
import { TaskioError } from './errors.js';
import { isWithin } from './pathWithin.js';

/**
 * Removes `target` and everything below it, only when it lies strictly inside `root` once every
 * symlink on the way is resolved — the guard against containerd #4019's class of bug, where a bad
 * id turned a cleanup into `rm -rf` of a directory outside the state root. A symlink at `target`
 * itself is removed, never followed. Callers remove only what they created in the same call.
 * A missing `target` (or `root`) is not an error.
 * @throws TaskioError `ERR_PATH_OUTSIDE_ROOT` naming both paths, before anything is removed.
 */
export function removeInside(root: string, target: string): void {
  let realRoot: string;
  let realParent: string;
  try {
    realRoot = fs.realpathSync(root);
    realParent = fs.realpathSync(path.dirname(path.resolve(target)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const base = path.basename(path.resolve(target));
  const real = path.join(realParent, base);
  if (base === '' || base === '.' || base === '..' || real === realRoot || !isWithin(realRoot, real)) {
    throw new TaskioError('ERR_PATH_OUTSIDE_ROOT', `refusing to remove ${target}: it is not inside ${root}`);
  }
  fs.rmSync(real, { recursive: true, force: true });
}
