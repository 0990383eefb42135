import fs from 'node:fs';
import path from 'node:path';
import type { OciSpec } from '../runtime/oci/index.js';

/**
 * What runsc or runc would make in the task's rootfs: a working directory or a mount point that is
 * not there. Both make them in the rootfs directory itself before the task sees it read-only (runsc
 * through its gofer), and on the shared busybox rootfs that change would outlive the task and show
 * in every later one (`-w /work` left `/work` in the image). A path under another mount's place
 * (`/dev/pts` under `/dev`'s tmpfs) is made in that mount, not in the rootfs.
 */
export function madeInRootfs(spec: OciSpec): string[] {
  const mounts = (spec.mounts ?? []).map((m) => path.posix.normalize(m.destination));
  const inMount = (p: string, upTo: number): boolean => mounts.slice(0, upTo).some((d) => p === d || p.startsWith(d.endsWith('/') ? d : `${d}/`));
  const places = mounts.filter((d, i) => !inMount(d, i));
  const cwd = path.posix.normalize(spec.process.cwd || '/');
  if (!inMount(cwd, mounts.length)) places.push(cwd);
  return places.filter((p) => missing(path.join(spec.root.path, p)));
}

/**
 * Whether nothing is at `p`, so the runtime would make it. A file on its way (`-w /etc/passwd/x`:
 * ENOTDIR) cannot be made there: the runtime refuses it, naming it (runc: `mkdir /etc/passwd/x: not
 * a directory`), where the create failed with Node's `ENOTDIR: … lstat '<the daemon's rootfs path>'`.
 */
function missing(p: string): boolean {
  try {
    return fs.lstatSync(p, { throwIfNoEntry: false }) === undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw err;
  }
}

/**
 * Makes `to` a tree of its own with the directories and symlinks of the rootfs `from` and hard
 * links to its files: a few hundred syscalls for busybox, no copy of a file. The task sees its
 * rootfs read-only, so no write reaches the shared files through the links; what the runtime makes
 * in it (see {@link madeInRootfs}) stays in `to`, which goes with the task's directory.
 */
export function linkRootfs(from: string, to: string): void {
  fs.mkdirSync(to, { mode: fs.lstatSync(from).mode & 0o7777 });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name), dst = path.join(to, entry.name);
    if (entry.isDirectory()) linkRootfs(src, dst);
    else if (entry.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dst);
    else if (entry.isFile()) fs.linkSync(src, dst);
    // Nothing else is in a rootfs taskio made (devices come from the runtime's /dev).
  }
}
