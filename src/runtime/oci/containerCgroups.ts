import fs from 'node:fs';
import path from 'node:path';
import { hierarchyMounts } from '../jobobject/hierarchy.js';

/**
 * The cgroups an OCI runtime makes for a container, and taking back those a failed create left.
 *
 * Why: runsc (2022-12-19) and runc (1.1) make the container's cgroup in every hierarchy (nine
 * directories on this machine kind, `name=systemd` among them) early in `create`, and remove them in
 * `delete`. A runsc create that fails by itself (a bundle without its rootfs), and a create of
 * either that is killed before it saved the container's state, leave them for good: no runtime
 * command can name that container any more. A supervisor that retries leaves nine empty
 * directories per failure.
 */

/**
 * The cgroup path (from each hierarchy's root) the runtime gives container `id` of `spec`: the
 * spec's `linux.cgroupsPath` when it is absolute, `/<id>` when it has none (what runsc and runc
 * make then). Undefined for a relative path (the runtime resolves it against its own cgroup) or
 * systemd's `slice:prefix:name`, and for a path that climbs (`..`): taskio does not guess those.
 */
export function containerCgroupPath(spec: unknown, id: string): string | undefined {
  const linux = (spec as { linux?: { cgroupsPath?: unknown } } | null)?.linux;
  const given = linux?.cgroupsPath;
  if (given === undefined || given === '') return `/${id}`;
  if (typeof given !== 'string' || !given.startsWith('/') || given.includes(':')) return undefined;
  const parts = given.split('/').filter(Boolean);
  if (parts.length === 0 || parts.includes('..') || parts.includes('.')) return undefined;
  return `/${parts.join('/')}`;
}

/**
 * The directories of cgroup path `cgroupPath` and of each of its ancestors below the root, in every
 * hierarchy, that exist now (deepest first within a hierarchy).
 */
export function cgroupDirs(cgroupPath: string): string[] {
  const parts = cgroupPath.split('/').filter(Boolean);
  const dirs: string[] = [];
  for (const mount of hierarchyMounts()) {
    for (let n = parts.length; n > 0; n--) {
      const dir = path.join(mount, ...parts.slice(0, n));
      if (fs.existsSync(dir)) dirs.push(dir);
    }
  }
  return dirs;
}

/**
 * Removes the cgroup directories of `cgroupPath` (and its ancestors) that were not there before the
 * call (`before`, from {@link cgroupDirs}): the ones the runtime made in it. `rmdir` of a cgroup
 * removes only an empty one — no process, no child cgroup — so a cgroup in use (another root's
 * container of the same id) stays. One still busy is tried again for up to `withinMs`: the
 * processes of a killed runtime call (its own, runsc's sandbox and the ptrace stubs under it) and
 * their zombies leave their cgroups some milliseconds after the call failed. Resolves with what it
 * removed.
 */
export async function removeNewCgroups(cgroupPath: string, before: ReadonlySet<string>, withinMs = 2000): Promise<string[]> {
  const removed: string[] = [];
  const until = Date.now() + withinMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    let busy = false;
    // Deepest first in each hierarchy (cgroupDirs' order), so a parent the call made goes after its child.
    for (const dir of cgroupDirs(cgroupPath)) {
      if (before.has(dir)) continue;
      try {
        fs.rmdirSync(dir);
        removed.push(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') busy = true;
      }
    }
    if (!busy || Date.now() >= until) return removed;
    await new Promise((r) => setTimeout(r, delay));
  }
}
