import { TaskioError } from '../errors.js';

/**
 * Throws `ERR_INVALID_STATE` for a task that was created and never started (docker's create):
 * nothing runs to attach to, as the daemon answers an attach to it.
 */
export function refuseUnstarted(task: { id: string; status: string }): void {
  if (task.status === 'created') throw new TaskioError('ERR_INVALID_STATE', `cannot attach to task ${task.id}: it was never started (start it first)`);
}
