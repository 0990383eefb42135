import { TaskioError } from '../errors.js';

/**
 * An attach reads the task's log (log mode) or its FIFO set (`none`): a task whose output goes to a
 * logging driver has neither. Asked before an attached create or start too, so such a task is
 * refused before it runs, not after.
 * @throws TaskioError `ERR_NOT_ATTACHABLE`.
 */
export function refuseLoggingDriver(id: string, log: string, logPath: string | null): void {
  if (log !== 'none' && logPath === null) {
    throw new TaskioError('ERR_NOT_ATTACHABLE', `task ${id} logs to a logging driver (${log}): its output cannot be attached to (start it detached; the driver has its output)`);
  }
}
