import path from 'node:path';
import { TaskioError } from '../errors.js';
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
export function checkRunscCwd(spec: OciSpec): void {
  const cwd = path.posix.resolve('/', spec.process.cwd || '/');
  // The last mount that holds it is the one the task sees there.
  const holder = (spec.mounts ?? []).filter((m) => {
    const d = path.posix.resolve('/', m.destination);
    return cwd.startsWith(d === '/' ? d : `${d}/`);
  }).at(-1);
  if (holder?.type === 'tmpfs') {
    throw new TaskioError('ERR_NOT_SUPPORTED', `working directory ${cwd} lies in the tmpfs at ${holder.destination}, where runsc cannot make it (it makes it in the rootfs, under the tmpfs): give a directory outside it, or runtime runc`);
  }
}
