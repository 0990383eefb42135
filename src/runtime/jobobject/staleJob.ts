import path from 'node:path';
import { TaskioError } from '../../errors.js';
import { CgroupSet, ParentName, jobCgroupPath } from './cgroup.js';
import { checkName, openHere } from './cgroupJob.js';
import { cgroupLayout, type CgroupLayout } from './hierarchy.js';
import { groupExists, groupNamesWithPrefix, removeEmptyGroup, type GroupNaming } from './staleGroup.js';

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

/** How the messages name job `name`. */
function jobNaming(name: string): GroupNaming {
  return { full: `job ${name} (cgroup ${jobCgroupPath(name)})`, short: `job ${name}`, noun: 'job', nameOf: 'job object' };
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
  const parents = jobParents(layout);
  if (openHere(name) && await groupExists(name, parents)) throw new TaskioError('ERR_ALREADY_EXISTS', `job ${name} already exists: a job object of this process has it open`);
  return removeEmptyGroup(name, parents, jobNaming(name));
}

/** The names of the jobs under the `taskio` parent of any hierarchy of `layout` that start with `prefix`. */
export function jobNamesWithPrefix(prefix: string, layout: CgroupLayout = cgroupLayout()): Promise<string[]> {
  return groupNamesWithPrefix(prefix, jobParents(layout));
}
