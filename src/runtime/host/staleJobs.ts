import { isAlive } from '../../pidAlive.js';
import { JobObject } from '../jobobject/index.js';

/** The name of a host task's job: `host-<pid of the process that made it>-<12 hex digits>`. */
const hostJobName = /^host-(\d+)-[0-9a-f]{12}$/;

let swept: Promise<string[]> | null = null;

/**
 * Removes the jobs of host tasks whose supervisor died without deleting them, once per process.
 * A host task may outlive its supervisor (as a runc container does), so its job stays while any of
 * its processes runs; but nothing removes it once they are gone, and every crashed supervisor
 * left one empty cgroup per task behind. A job is removed when it is named after a process that
 * no longer runs (a pid taken again by another process keeps its jobs: nothing is guessed) and no
 * process is left in it. Returns the names removed; a job another process removes meanwhile, or
 * one that cannot be read, is left to it.
 */
export function sweepStaleHostJobs(): Promise<string[]> {
  swept ??= (async () => {
    const removed: string[] = [];
    for (const name of await JobObject.names().catch(() => [])) {
      const pid = Number(hostJobName.exec(name)?.[1]);
      if (!(pid > 0) || pid === process.pid || isAlive(pid)) continue;
      try {
        const job = await JobObject.open(name);
        const empty = (await job.pids()).length === 0;
        await job.close(); // the last handle of an empty job removes it
        if (empty) removed.push(name);
      } catch {
        // gone already, or not ours to read
      }
    }
    return removed;
  })();
  return swept;
}
