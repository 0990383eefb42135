import { TaskioError } from '../errors.js';
import { snapshotLogFiles } from '../logfile/logFileSet.js';
import { setTimeout as delay } from 'node:timers/promises';
import { outputGraceMs, type DaemonTask } from './task.js';

/**
 * Refuses the logs of a task whose log file was removed under it (`rm` by hand, a logrotate
 * without `copytruncate`). The daemon writes on into the removed file, which no reader can open:
 * `logs` printed nothing and succeeded, as if the task had said nothing. docker's json-file
 * fails then (`open …-json.log: no such file or directory`). A running task's is known by the file
 * its log copy writes having no name left (a rotation renames it, so is not taken for a removal) —
 * also just after its exit, while its last output is copied; one that ran and ended, by its log
 * having no file at all. A file renamed outside taskio (logrotate's `dateext` without
 * `copytruncate`) is written on under its new name, and the path is missing or (`create`) an empty
 * file: `logs` printed nothing too. docker's json-file behaves alike (moby#7333: it never reopens
 * its file); a running task's is refused, naming both files.
 * @throws TaskioError `ERR_NO_LOG` naming the file (and where it went).
 */
export async function checkLogNotRemoved(task: DaemonTask): Promise<void> {
  const { logPath } = task.record;
  if (logPath === null) return;
  const movedTo = task.logMovedTo;
  if (movedTo !== null) {
    throw new TaskioError('ERR_NO_LOG', `task ${task.id}'s log file ${logPath} was renamed to ${movedTo} outside taskio: the task's output goes on into that file, which logs does not read (rotate the log with --log-opt max-size, or logrotate's copytruncate)`);
  }
  if (task.logRemoved || (task.state === 'exited' && task.record.started !== null && await noLogFileLeft(task, logPath))) {
    throw new TaskioError('ERR_NO_LOG', `task ${task.id}'s log file ${logPath} was removed: what the task wrote to it can no longer be read`);
  }
}

/**
 * Whether no file of an exited task's log set exists, once its last output is in (as a `wait`
 * waits for it, at most {@link outputGraceMs}): until then a single file's rotation (`max-file=1`)
 * may have unlinked it a moment before making the next (a suite run refused such a task's logs).
 */
async function noLogFileLeft(task: DaemonTask, logPath: string): Promise<boolean> {
  const done = await Promise.race([task.outputDone.then(() => true, () => true), delay(outputGraceMs, false, { ref: false })]);
  return done && (await snapshotLogFiles(logPath)).every((f) => f === null);
}
