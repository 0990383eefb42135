import fs from 'node:fs';
import path from 'node:path';
import { TaskioError } from '../errors.js';
import { describeFileType } from '../fifo/openFifo.js';
import { isBindMount } from './bindSources.js';
import { isWithin } from '../pathWithin.js';
import type { OciSpec } from '../runtime/oci/index.js';

/**
 * Refuses a runsc task whose working directory lies inside a tmpfs mount (`-w /tmp/x` on the
 * default rootfs, `--tmpfs /t -w /t/x`). runsc 2022-12 makes a missing working directory on the
 * host before the sandbox starts: through a bind mount into its source (as runc does), but beneath
 * a tmpfs into the rootfs directory under the tmpfs's place, which the task never sees, so the start
 * failed ("failed to find initial working directory") and the directory stayed in the rootfs — on
 * the shared busybox one, in every later task. runc makes it inside the mounted tmpfs.
 * @throws TaskioError `ERR_NOT_SUPPORTED` naming the directory and the mount.
 */
export function checkRunscCwd(spec: OciSpec, rootPath: string): void {
  const cwd = path.posix.resolve('/', spec.process.cwd || '/');
  // The last mount that holds it is the one the task sees there.
  const holder = (spec.mounts ?? []).map((m) => ({ m, at: path.posix.resolve('/', m.destination) })).filter(({ at }) => isWithin(at, cwd)).at(-1);
  if (holder === undefined) return checkCwdPlace(cwd, '/', rootPath);
  // The tmpfs's own place is made as a mount point: only what is below it is the problem.
  if (holder.m.type === 'tmpfs' && cwd !== holder.at) {
    throw new TaskioError('ERR_NOT_SUPPORTED', `working directory ${cwd} lies in the tmpfs at ${holder.m.destination}, where runsc cannot make it (it makes it in the rootfs, under the tmpfs): give a directory outside it, or runtime runc`);
  }
  // A tmpfs, proc, sysfs…: the sentry's own.
  if (isBindMount(holder.m)) checkCwdPlace(cwd, holder.at, holder.m.source ?? '');
}

/**
 * Refuses a working directory that is a file (or has one on its way) on the host, under `base` (the
 * rootfs, or the source of the bind mount at `dest` that holds it). runsc 2022-12 then fails its start with
 * `cannot read client sync file: waiting for sandbox to start: EOF`, naming nothing; runc says
 * `mkdir /etc/passwd: not a directory`, docker `not a directory`. A missing part is made by runsc,
 * and a symbolic link is left to it: it resolves it inside the task's root, not on the host.
 * @throws TaskioError `ERR_INVALID_CWD` naming the directory and what is there instead.
 */
function checkCwdPlace(cwd: string, dest: string, base: string): void {
  let inTask = dest;
  // The base itself first: a bind mount's source may be a file (`-v /etc/hosts:/w -w /w`).
  for (const part of ['', ...path.posix.relative(dest, cwd).split('/').filter((p) => p !== '')]) {
    inTask = path.posix.join(inTask, part);
    const st = fs.lstatSync(path.join(base, path.posix.relative(dest, inTask)), { throwIfNoEntry: false });
    if (st === undefined || st.isSymbolicLink()) return;
    if (!st.isDirectory()) throw new TaskioError('ERR_INVALID_CWD', `working directory ${cwd}: ${inTask} is not a directory (it is ${describeFileType(st)})`);
  }
}
