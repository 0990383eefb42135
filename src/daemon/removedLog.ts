import { TaskioError } from '../errors.js';
import { snapshotLogFiles } from '../logfile/logFileSet.js';
import type { DaemonTask } from './task.js';

/**
 * Refuses the logs of a task whose log file was removed under it (`rm` by hand, a logrotate
 * without `copytruncate`). The daemon writes on into the removed file, which no reader can open:
 * `logs` printed nothing and succeeded, as if the task had said nothing. docker's json-file
 * fails then (`open …-json.log: no such file or directory`). A running task's is known by the file
 * its log copy writes having no name left (a rotation renames it, so is not taken for a removal);
 * one that ran and ended, by its log having no file at all.
 * @throws TaskioError `ERR_NO_LOG` naming the file.
 */
export async function checkLogNotRemoved(task: DaemonTask): Promise<void> {
  const { logPath } = task.record;
  if (logPath === null) return;
  const removed = task.state === 'running' || task.state === 'paused'
    ? task.logRemoved
    : task.state === 'exited' && task.record.started !== null && (await snapshotLogFiles(logPath)).every((f) => f === null);
  if (removed) {
    throw new TaskioError('ERR_NO_LOG', `task ${task.id}'s log file ${logPath} was removed: what the task wrote to it can no longer be read`);
  }
}
