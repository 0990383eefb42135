import fs from 'node:fs/promises';
import path from 'node:path';
import { TaskioError } from '../../errors.js';

/**
 * A cgroup of one name that a supervisor that is gone left under some parent directories (one per
 * hierarchy): found, and removed when it holds nothing. Shared by taskio's job objects (parent
 * `taskio`) and the daemon's runc/runsc task cgroups (parent `taskio-containers`), which the
 * runtimes reuse as they find them — with any process left in them.
 */

/** How the messages name a group of one kind. */
export interface GroupNaming {
  /** The group as a message names it first, e.g. `job N (cgroup /taskio/N)`. */
  full: string;
  /** ...and after that, e.g. `job N`. */
  short: string;
  /** What a group of this kind is, e.g. `job`. */
  noun: string;
  /** What its name is the name of, e.g. `job object`. */
  nameOf: string;
}

/** What a group of one name is in the hierarchies: its directories, their processes and child groups. */
interface GroupContents {
  dirs: string[];
  pids: number[];
  children: string[];
}

async function contentsOf(name: string, parents: readonly string[], naming: GroupNaming): Promise<GroupContents> {
  const found: GroupContents = { dirs: [], pids: [], children: [] };
  for (const parent of parents) {
    const dir = path.join(parent, name);
    try {
      const entries = await fs.readdir(dir, { withFileTypes: true });
      const procs = await fs.readFile(path.join(dir, 'cgroup.procs'), 'utf8');
      found.dirs.push(dir);
      for (const e of entries) if (e.isDirectory()) found.children.push(path.join(dir, e.name));
      for (const pid of procs.split('\n').filter(Boolean).map(Number)) if (!found.pids.includes(pid)) found.pids.push(pid);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') {
        throw new TaskioError('ERR_INVALID_ARG_VALUE', `${naming.nameOf} name ${JSON.stringify(name)} is invalid here: ${dir} is a file of the cgroup hierarchy, not a ${naming.noun}`);
      }
      if (code !== 'ENOENT') throw err; // ENOENT: not in this hierarchy (or removed meanwhile)
    }
  }
  return found;
}

/**
 * Removes group `name` under each of `parents` (in that order) when none of its directories holds
 * a process (`cgroup.procs`) or a child group. Each is removed with rmdir, never recursively,
 * which the kernel refuses for a cgroup that a process joined meanwhile. A group that holds
 * processes is a live task its supervisor lost track of, not taskio's to take or kill. Returns the
 * directories removed, `[]` when there is no group of that name.
 * @throws TaskioError `ERR_ALREADY_EXISTS` naming the group and its pids (or child groups); nothing
 *   is removed then. `ERR_INVALID_ARG_VALUE` when a parent has a file of that name.
 */
export async function removeEmptyGroup(name: string, parents: readonly string[], naming: GroupNaming): Promise<string[]> {
  const { dirs, pids, children } = await contentsOf(name, parents, naming);
  if (dirs.length === 0) return [];
  if (pids.length > 0) {
    throw new TaskioError('ERR_ALREADY_EXISTS', `${naming.full} already exists and holds processes ${pids.join(', ')}, of a task taskio lost track of: stop them, and the next create removes the empty ${naming.noun}`);
  }
  if (children.length > 0) throw new TaskioError('ERR_ALREADY_EXISTS', `${naming.short} already exists and has child groups, which taskio never makes: ${children.join(', ')}`);
  for (const dir of dirs) {
    try {
      await fs.rmdir(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EBUSY' || code === 'ENOTEMPTY') {
        throw new TaskioError('ERR_ALREADY_EXISTS', `${naming.short} already exists: ${dir} got a process or a child group while it was being removed`, { cause: err });
      }
      if (code !== 'ENOENT') throw err;
    }
  }
  return dirs;
}

/** Whether group `name` has a directory under any of `parents`, whatever it holds. */
export async function groupExists(name: string, parents: readonly string[]): Promise<boolean> {
  for (const parent of parents) if (await fs.stat(path.join(parent, name)).then(() => true, () => false)) return true;
  return false;
}

/** The names of the groups under any of `parents` that start with `prefix`. */
export async function groupNamesWithPrefix(prefix: string, parents: readonly string[]): Promise<string[]> {
  const names = new Set<string>();
  for (const parent of parents) {
    try {
      for (const e of await fs.readdir(parent, { withFileTypes: true })) if (e.isDirectory() && e.name.startsWith(prefix)) names.add(e.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // no group was ever made there
    }
  }
  return [...names];
}
