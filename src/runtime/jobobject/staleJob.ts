import fs from 'node:fs/promises';
import path from 'node:path';
import { TaskioError } from '../../errors.js';
import { CgroupSet, ParentName, jobCgroupPath } from './cgroup.js';
import { checkName, openHere } from './cgroupJob.js';
import { cgroupLayout, type CgroupLayout } from './hierarchy.js';

/**
 * The `taskio` parent directory of every hierarchy of `layout` (the cgroup2 mount and each v1
 * controller's: a job made with another layout may use any of them), the one whose listing
 * `JobObject.names()` reads last, so a removal stopped halfway leaves a job that is still listed.
 */
function jobParents(layout: CgroupLayout): string[] {
  const mounts = [...new Set([...(layout.v2 !== undefined ? [layout.v2] : []), ...layout.v1.values()])];
  if (mounts.length === 0) return [];
  const listed = path.dirname(path.dirname(new CgroupSet('probe', layout).listDir));
  return [...mounts.filter((m) => m !== listed), listed].map((m) => path.join(m, ParentName));
}

/** What a job of one name is in the hierarchies: its directories, their processes and child groups. */
interface JobContents {
  dirs: string[];
  pids: number[];
  children: string[];
}

async function contentsOf(name: string, layout: CgroupLayout): Promise<JobContents> {
  const found: JobContents = { dirs: [], pids: [], children: [] };
  for (const parent of jobParents(layout)) {
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
        throw new TaskioError('ERR_INVALID_ARG_VALUE', `job object name ${JSON.stringify(name)} is invalid here: ${dir} is a file of the cgroup hierarchy, not a job`);
      }
      if (code !== 'ENOENT') throw err; // ENOENT: not in this hierarchy (or removed meanwhile)
    }
  }
  return found;
}

/**
 * Clears the way for a new job `name` on Linux: removes the job of that name that a supervisor that
 * died (or whose state was removed) left behind — its directories under taskio's parent when none
 * holds a process (`cgroup.procs`) or a child group, in any hierarchy. Each is removed with rmdir,
 * never recursively, which the kernel refuses for a cgroup that a process joined meanwhile. A job
 * that holds processes is a live task its supervisor lost track of, not taskio's to take or kill.
 * Returns the directories removed, `[]` when no job of that name exists.
 * @throws TaskioError `ERR_ALREADY_EXISTS` naming the job and its pids (or child groups), or saying
 *   that a job object of this process has it open; nothing is removed then.
 *   `ERR_INVALID_ARG_VALUE` for a name that is not a job name.
 */
export async function removeStaleJob(name: string, layout: CgroupLayout = cgroupLayout()): Promise<string[]> {
  checkName(name);
  const { dirs, pids, children } = await contentsOf(name, layout);
  if (dirs.length === 0) return [];
  if (openHere(name)) throw new TaskioError('ERR_ALREADY_EXISTS', `job ${name} already exists: a job object of this process has it open`);
  if (pids.length > 0) {
    throw new TaskioError('ERR_ALREADY_EXISTS', `job ${name} (cgroup ${jobCgroupPath(name)}) already exists and holds processes ${pids.join(', ')}, of a task taskio lost track of: stop them, and the next create removes the empty job`);
  }
  if (children.length > 0) throw new TaskioError('ERR_ALREADY_EXISTS', `job ${name} already exists and has child groups, which taskio never makes: ${children.join(', ')}`);
  for (const dir of dirs) {
    try {
      await fs.rmdir(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EBUSY' || code === 'ENOTEMPTY') {
        throw new TaskioError('ERR_ALREADY_EXISTS', `job ${name} already exists: ${dir} got a process or a child group while it was being removed`, { cause: err });
      }
      if (code !== 'ENOENT') throw err;
    }
  }
  return dirs;
}

/** The names of the jobs under the `taskio` parent of any hierarchy of `layout` that start with `prefix`. */
export async function jobNamesWithPrefix(prefix: string, layout: CgroupLayout = cgroupLayout()): Promise<string[]> {
  const names = new Set<string>();
  for (const parent of jobParents(layout)) {
    try {
      for (const e of await fs.readdir(parent, { withFileTypes: true })) if (e.isDirectory() && e.name.startsWith(prefix)) names.add(e.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // no job was ever made there
    }
  }
  return [...names];
}
