import fs from 'node:fs';
import type { LogSink } from '../log.js';
import { jobNamesWithPrefix, removeStaleJob } from '../runtime/jobobject/staleJob.js';
import { containerCgroupNamesWithPrefix, removeStaleContainerCgroup } from './containerCgroup.js';
import type { DaemonLayout } from './layout.js';
import { jobPrefix } from './runtimes.js';

/** One kind of cgroup a task of a root leaves: how to list this root's and remove an empty one. */
export interface LeftoverKind {
  names(prefix: string): Promise<string[]>;
  remove(name: string): Promise<string[]>;
  /** The log field naming one, and the message of those removed. */
  field: string;
  removedMsg: string;
}

/**
 * The cgroups a task of a root may leave, by name `<jobPrefix(root)><id>`: a host task's job
 * (`/taskio/<name>`) and a runsc/runc task's cgroup (`/taskio-containers/<name>`). Each `remove`
 * takes only an empty one (rmdir) and throws `ERR_ALREADY_EXISTS` for one that holds processes.
 */
export const leftoverKinds: readonly LeftoverKind[] = [
  { names: (prefix) => jobNamesWithPrefix(prefix), remove: (name) => removeStaleJob(name), field: 'job', removedMsg: 'removed the empty jobs of this root that no task names' },
  { names: containerCgroupNamesWithPrefix, remove: removeStaleContainerCgroup, field: 'cgroup', removedMsg: 'removed the empty runsc/runc cgroups of this root that no task names' },
];

/**
 * Removes the cgroups of this daemon's root that no task directory names and that hold nothing —
 * what the tasks of a root removed by hand (or lost) left once their processes were gone — so
 * they do not pile up on the host: host tasks' jobs (`/taskio/<name>`) and runsc/runc tasks'
 * cgroups (`/taskio-containers/<name>`). Only names of this root's job prefix, under taskio's own
 * parents, each directory by rmdir (never recursively); one that holds processes is left and
 * logged with its pids: a task that no record names any more, for a person to stop. Run at start,
 * before the daemon listens, so no create of this root is under way. Linux only; every failure is
 * logged, none stops the daemon. Returns the names removed.
 */
export async function sweepStaleJobs(layout: DaemonLayout, logger: LogSink): Promise<string[]> {
  if (process.platform !== 'linux') return [];
  const prefix = jobPrefix(layout.root);
  let known: Set<string>;
  try {
    known = new Set(taskEntries(layout).map((id) => `${prefix}${id}`));
  } catch (err) {
    logger.warn({ err }, 'cannot list the tasks of this root: its empty cgroups are left as they are');
    return [];
  }
  const all: string[] = [];
  for (const kind of leftoverKinds) {
    const removed: string[] = [];
    try {
      for (const name of await kind.names(prefix)) {
        if (known.has(name)) continue;
        try {
          const dirs = await kind.remove(name);
          if (dirs.length > 0) removed.push(name);
        } catch (err) {
          logger.warn({ err, [kind.field]: name }, `a ${kind.field} of this root that no task names is left as it is`);
        }
      }
    } catch (err) {
      logger.warn({ err }, `cannot look for the empty ${kind.field}s of this root that no task names`);
    }
    if (removed.length > 0) logger.warn({ [`${kind.field}s`]: removed }, kind.removedMsg);
    all.push(...removed);
  }
  return all;
}

/** Every entry of the root's `tasks/` directory, a task's or not (none is taken for absent). */
function taskEntries(layout: DaemonLayout): string[] {
  try {
    return fs.readdirSync(layout.tasks);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
