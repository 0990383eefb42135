import type { Logger } from 'pino';
import { writeJsonAtomic } from './atomicJson.js';
import type { DaemonLayout } from './layout.js';
import type { ExitRecord } from './records.js';

/**
 * Writes task `id`'s exit to `<dir>/exit`; true once it is there. A failure (a full or read-only file system) is logged,
 * not thrown: the exit is known in memory all the same, and the task stays listed and removable —
 * a later daemon that finds no exit file takes the task for one that exited while no daemon ran.
 */
export function writeExitFile(layout: DaemonLayout, id: string, exit: ExitRecord, logger: Logger): boolean {
  try {
    writeJsonAtomic(layout.exitFile(id), exit);
    return true;
  } catch (err) {
    logger.error({ err, id }, 'cannot write the exit file');
    return false;
  }
}
