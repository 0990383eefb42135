import fs from 'node:fs';
import type { LogSink } from '../log.js';
import { jobNamesWithPrefix, removeStaleJob } from '../runtime/jobobject/staleJob.js';
import type { DaemonLayout } from './layout.js';
import { jobPrefix } from './runtimes.js';

/**
 * Removes the jobs (cgroups) of this daemon's root that no task directory names and that hold
 * nothing — what the host tasks of a root removed by hand (or lost) left once their processes were
 * gone — so they do not pile up on the host. Only names of this root's job prefix, under taskio's
 * own job parent, each directory by rmdir (never recursively); a job that holds processes is left
 * and logged with its pids: a task that no record names any more, for a person to stop. Run at
 * start, before the daemon listens, so no create of this root is under way. Linux only; every
 * failure is logged, none stops the daemon. Returns the names removed.
 */
export async function sweepStaleJobs(layout: DaemonLayout, logger: LogSink): Promise<string[]> {
  if (process.platform !== 'linux') return [];
  const removed: string[] = [];
  try {
    const prefix = jobPrefix(layout.root);
    const known = new Set(taskEntries(layout).map((id) => `${prefix}${id}`));
    for (const name of await jobNamesWithPrefix(prefix)) {
      if (known.has(name)) continue;
      try {
        const dirs = await removeStaleJob(name);
        if (dirs.length > 0) removed.push(name);
      } catch (err) {
        logger.warn({ err, job: name }, 'a job of this root that no task names is left as it is');
      }
    }
  } catch (err) {
    logger.warn({ err }, 'cannot look for the empty jobs of this root that no task names');
  }
  if (removed.length > 0) logger.warn({ jobs: removed }, 'removed the empty jobs of this root that no task names');
  return removed;
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
