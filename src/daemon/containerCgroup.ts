import path from 'node:path';
import { TaskioError } from '../errors.js';
import type { LogSink } from '../log.js';
import { hierarchyMounts } from '../runtime/jobobject/hierarchy.js';
import { groupNamesWithPrefix, removeEmptyGroup } from '../runtime/jobobject/staleGroup.js';

/**
 * The cgroups of the daemon's runsc and runc tasks: `/taskio-containers/<job prefix of the root><id>`
 * in every hierarchy, which the runtimes make at create and remove at delete. A root removed by
 * hand leaves them; runc 1.1 then puts a new task of the same id into the cgroup it finds, beside
 * any process still in it (whose `top`, `stats`, `kill --all` and `rm` would be the new task's),
 * and runsc 2022-12 takes a cgroup it finds for not its own, so never removes it.
 */

/** The cgroup parent of runsc and runc tasks, beside the job objects' (`taskio/`, which lists jobs only). */
export const containerCgroupParent = 'taskio-containers';

/** The cgroup of the runsc/runc task whose cgroup name is `name` (`<job prefix><id>`), from each hierarchy's root. */
export function containerCgroup(name: string): string {
  return `/${containerCgroupParent}/${name}`;
}

/** taskio's container parent in every hierarchy (runc and runsc make a container's cgroup in each). */
function containerParents(): string[] {
  return hierarchyMounts().map((m) => path.join(m, containerCgroupParent));
}

/**
 * Removes the runsc/runc task cgroup `name` that a supervisor whose state is gone left, when it
 * holds no process and no child group in any hierarchy (rmdir each, never recursively; see
 * `removeEmptyGroup`). Returns the directories removed, `[]` when there is none.
 * @throws TaskioError `ERR_ALREADY_EXISTS` naming the cgroup and its pids: a task taskio lost track
 *   of, left as it is.
 */
export function removeStaleContainerCgroup(name: string): Promise<string[]> {
  const full = `cgroup ${containerCgroup(name)}`;
  return removeEmptyGroup(name, containerParents(), { full, short: full, noun: 'cgroup', nameOf: 'container cgroup' });
}

/**
 * Clears the way for the cgroup of a new runsc/runc task `id`, before the runtime is called: an
 * empty one left behind is removed (a warning names it), so the runtime makes and owns a new one.
 * @throws TaskioError `ERR_ALREADY_EXISTS` naming the task, the cgroup and its pids.
 */
export async function clearContainerCgroup(id: string, name: string, logger: LogSink): Promise<void> {
  let removed: string[];
  try {
    removed = await removeStaleContainerCgroup(name);
  } catch (err) {
    if ((err as TaskioError).code !== 'ERR_ALREADY_EXISTS') throw err;
    throw new TaskioError('ERR_ALREADY_EXISTS', `task ${JSON.stringify(id)}: ${(err as Error).message}`, { cause: err });
  }
  if (removed.length > 0) logger.warn({ id, cgroup: containerCgroup(name), dirs: removed }, 'removed an empty cgroup left by an earlier supervisor of the task\'s id');
}

/** The names of the runsc/runc task cgroups in any hierarchy that start with `prefix`. */
export function containerCgroupNamesWithPrefix(prefix: string): Promise<string[]> {
  return groupNamesWithPrefix(prefix, containerParents());
}
