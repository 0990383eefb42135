import fs from 'node:fs';
import path from 'node:path';
import { cgroupPathIn, hierarchies, type Hierarchy } from '../jobobject/hierarchy.js';
import type { Dialect } from './types.js';

/**
 * The cgroups an OCI runtime makes for a container, and taking back those a failed create left.
 *
 * Why: runsc (2022-12-19) and runc (1.1) make the container's cgroup in every hierarchy (nine v1
 * directories on this machine kind, `name=systemd` among them; runc the cgroup2 one as well) early
 * in `create`, and remove them in `delete`. A runsc create that fails by itself (a bundle without
 * its rootfs), and a create of either that is killed before it saved the container's state, leave
 * them for good: no runtime command can name that container any more. A supervisor that retries
 * leaves a directory per hierarchy per failure.
 *
 * Where they are depends on the runtime and on the cgroup of the process that runs it (the runtime
 * inherits its caller's): a caller in a nested cgroup (a daemon under systemd, a test runner in a
 * sandbox) finds a relative container cgroup beneath its own, not at the root.
 */

/** Where a runtime makes a container's cgroup in one hierarchy. */
export interface HierarchyCgroup {
  /** The hierarchy's mount point. */
  mount: string;
  /** The container's cgroup, from the hierarchy's root. */
  path: string;
  /**
   * The ancestor of {@link path} the runtime resolved it against: the root (an absolute path), the
   * caller's own cgroup or, on a cgroup2-only machine, its parent. The runtime makes what is below
   * it; taskio takes back nothing at or above it.
   */
  base: string;
}

/**
 * Where runtime `dialect` makes container `id`'s cgroups for spec `spec`, in each hierarchy, as the
 * runtimes resolve a spec's `linux.cgroupsPath` (runc 1.1 libcontainer `subsysPath` and
 * `GetOwnCgroupPath`, fs2 `defaultDirPath`; runsc 2022-12-19 `cgroup.new`):
 * - absolute: as given, from each hierarchy's root;
 * - none (or empty): runsc uses `/<id>` (absolute); runc the id as a relative path;
 * - relative: below the caller's own cgroup in each v1 hierarchy (`/proc/self/cgroup`, text
 *   `procCgroup`), below its parent on a cgroup2-only machine (whose own cgroup holds processes, so
 *   cannot have controllers for children); runc puts its cgroup2 directory on a v1 + v2 hybrid
 *   machine below the root whatever the path; runsc leaves that hierarchy alone.
 *
 * A hierarchy the caller's cgroup is not known in is left out (the runtime finds none there either).
 * Undefined for a path taskio does not resolve: systemd's `slice:prefix:name`, one that climbs
 * (`..`) or names the root itself, not a string.
 */
export function resolveContainerCgroups(spec: unknown, id: string, dialect: Dialect, procCgroup: string, hs: readonly Hierarchy[]): HierarchyCgroup[] | undefined {
  const linux = (spec as { linux?: { cgroupsPath?: unknown } } | null)?.linux;
  const given = linux?.cgroupsPath === undefined || linux.cgroupsPath === '' ? (dialect === 'runsc' ? `/${id}` : id) : linux.cgroupsPath;
  if (typeof given !== 'string' || given.includes(':')) return undefined;
  const parts = given.split('/').filter(Boolean);
  if (parts.length === 0 || parts.includes('..') || parts.includes('.')) return undefined;
  const absolute = given.startsWith('/');
  const hybrid = hs.some((h) => h.version === 1);
  const out: HierarchyCgroup[] = [];
  for (const h of hs) {
    let base: string | null = '/';
    if (h.version === 2 && hybrid) {
      if (dialect === 'runsc') continue;
    } else if (!absolute) {
      const own = cgroupPathIn(procCgroup, h.version === 1 ? h.names : null);
      base = own === null ? null : h.version === 1 ? own : path.posix.dirname(own);
    }
    if (base !== null) out.push({ mount: h.mount, base, path: path.posix.join(base, ...parts) });
  }
  return out;
}

/** {@link resolveContainerCgroups} for this process, in this machine's hierarchies. */
export function containerCgroups(spec: unknown, id: string, dialect: Dialect): HierarchyCgroup[] | undefined {
  return resolveContainerCgroups(spec, id, dialect, fs.readFileSync('/proc/self/cgroup', 'utf8'), hierarchies());
}

/** Absolute cgroup path `cgroupPath` in every hierarchy (what a test looks for at one place everywhere). */
export function inEveryHierarchy(cgroupPath: string): HierarchyCgroup[] {
  return hierarchies().map((h) => ({ mount: h.mount, base: '/', path: cgroupPath }));
}

/**
 * The directories of each of `cgroups` and of its ancestors below its base that exist now, deepest
 * first within a hierarchy. A string is an absolute path in every hierarchy ({@link inEveryHierarchy}).
 */
export function cgroupDirs(cgroups: readonly HierarchyCgroup[] | string): string[] {
  const dirs: string[] = [];
  for (const c of typeof cgroups === 'string' ? inEveryHierarchy(cgroups) : cgroups) {
    const below = path.posix.relative(c.base, c.path).split('/').filter(Boolean);
    for (let n = below.length; n > 0; n--) {
      const dir = path.join(c.mount, c.base, ...below.slice(0, n));
      if (fs.existsSync(dir)) dirs.push(dir);
    }
  }
  return dirs;
}

/**
 * Removes the cgroup directories of `cgroups` (and their ancestors below their base) that were not
 * there before the call (`before`, from {@link cgroupDirs}): the ones the runtime made in it. `rmdir`
 * of a cgroup removes only an empty one — no process, no child cgroup — so a cgroup in use (another
 * root's container of the same id) stays. One still busy is tried again for up to `withinMs`: the
 * processes of a killed runtime call (its own, runsc's sandbox and the ptrace stubs under it) and
 * their zombies leave their cgroups some milliseconds after the call failed. Resolves with what it
 * removed.
 */
export async function removeNewCgroups(cgroups: readonly HierarchyCgroup[] | string, before: ReadonlySet<string>, withinMs = 2000): Promise<string[]> {
  const removed: string[] = [];
  const until = Date.now() + withinMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    let busy = false;
    // Deepest first in each hierarchy (cgroupDirs' order), so a parent the call made goes after its child.
    for (const dir of cgroupDirs(cgroups)) {
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
