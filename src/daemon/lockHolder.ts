import fs from 'node:fs';
import { flockHolders } from '../sys/procLocks.js';

/** The pids holding a `flock` on any of `paths` (see {@link flockHolders}), for messages that name who holds a lock. */
export function lockHolders(paths: readonly string[]): number[] {
  const pids = new Set<number>();
  for (const p of paths) {
    const st = fs.statSync(p, { bigint: true, throwIfNoEntry: false });
    // Gone: nobody holds a lock on it.
    if (st) for (const pid of flockHolders(st)) pids.add(pid);
  }
  return [...pids];
}
