import fs from 'node:fs';
import path from 'node:path';
import type { LogSink } from '../log.js';
import type { Process } from '../runtime/proc/index.js';
import { unlinkIfPresent } from '../sys/index.js';
import { readJson, writeJsonAtomic } from './atomicJson.js';
import { killSandboxTree, type SandboxSignals } from './checkKill.js';
import { isSameLiveProcess, processStartTime, signalTask } from './procStat.js';

/**
 * A health check's files in its task's directory, named after its exec id (`health-<12 hex>`):
 * its output FIFO and the record of its process. Both go when the check ends; a daemon killed
 * during a check leaves them, and the next one removes them at adoption ({@link removeCheckLeftovers}).
 */
const outputName = /^health-[0-9a-f]{12}-output$/;
const recordName = /^health-[0-9a-f]{12}\.json$/;

/** The output FIFO of the check `execId` in the task directory `dir`. */
export function checkOutputPath(dir: string, execId: string): string {
  return path.join(dir, `${execId}-output`);
}

/** The record of the check `execId`'s process in the task directory `dir`. */
export function checkRecordPath(dir: string, execId: string): string {
  return path.join(dir, `${execId}.json`);
}

/**
 * Who a check's process is: its host pid with its start time (so a reused pid is never taken for
 * it) and, on runsc, its sandbox pid — valid while the host pid (runsc's `exec`, which waits for
 * it) is that process still.
 */
interface CheckRecord {
  pid: number;
  pidStartTime: string;
  internalPid: number;
}

/**
 * Records the started check `p` in `file`, for the next daemon should this one die during the check.
 * Nothing is written for a process already gone. A failed write only costs that cleanup: it is not
 * the check's failure.
 */
export function writeCheckRecord(file: string, p: Process): void {
  const pidStartTime = processStartTime(p.pid());
  if (pidStartTime === null) return;
  try {
    writeJsonAtomic(file, { pid: p.pid(), pidStartTime, internalPid: p.internalPid() } satisfies CheckRecord);
  } catch {
    // no record: a daemon crash during this check would leave its process
  }
}

function validRecord(r: unknown): r is CheckRecord {
  const c = r as Partial<CheckRecord> | null;
  return typeof c === 'object' && c !== null && Number.isSafeInteger(c.pid) && c.pid! > 0
    && typeof c.pidStartTime === 'string' && /^\d+$/.test(c.pidStartTime) && Number.isSafeInteger(c.internalPid) && c.internalPid! >= 0;
}

/**
 * Kills the check of `r` with its children, as {@link killCheck} does, if it is still the process the
 * record names: host and runc, its process group (refused by {@link signalTask} when the pid names
 * another process now); runsc, the tree under its sandbox pid while runsc's `exec` for it runs, then that.
 */
async function killRecordedCheck(r: CheckRecord, task: SandboxSignals): Promise<void> {
  if (r.internalPid === 0) {
    try {
      signalTask(r.pid, r.pidStartTime, 'SIGKILL', true);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
    return;
  }
  if (!isSameLiveProcess(r.pid, r.pidStartTime)) return;
  await killSandboxTree(r.internalPid, task);
  signalTask(r.pid, r.pidStartTime, 'SIGKILL', false);
}

/**
 * Unlinks `file` when `lstat` says it is of the kind `is` wants (never following a symlink); warns
 * and leaves anything else. Never throws: the task's directory is the task's too (a host task's
 * check may replace its own FIFO by a directory), and a file left there costs a warning, not the
 * daemon — this runs from a check's timer, where a throw would end the process.
 */
function unlinkIf(file: string, is: (st: fs.Stats) => boolean, logger: LogSink): void {
  try {
    const st = fs.lstatSync(file, { throwIfNoEntry: false });
    if (st === undefined) return;
    if (!is(st)) {
      logger.warn({ file }, 'a health check\'s file name on something else: left alone');
      return;
    }
    unlinkIfPresent(file);
  } catch (err) {
    logger.warn({ err, file }, 'cannot remove a health check\'s file: left there');
  }
}

/**
 * After a check of this daemon's (health-check exec `execId` in the task directory `dir`): removes
 * its output FIFO and process record, as {@link removeCheckLeftovers} does an earlier daemon's.
 */
export function removeCheckFiles(dir: string, execId: string, logger: LogSink): void {
  unlinkIf(checkOutputPath(dir, execId), (st) => st.isFIFO(), logger);
  unlinkIf(checkRecordPath(dir, execId), (st) => st.isFile(), logger);
}

/**
 * At adoption: removes the files of the checks an earlier daemon was running when it died — their
 * output FIFOs and process records, by name, one by one (lstat-checked: a FIFO, a regular file),
 * nothing else — before this daemon's checks of the task start. The checks of a running task are
 * killed as that daemon would have killed them (see {@link killRecordedCheck}); that part may take
 * runtime calls and is returned to be awaited or not.
 * @param task - the running task's processes and signals; null for one that exited (its checks went with it).
 */
export function removeCheckLeftovers(dir: string, task: SandboxSignals | null, logger: LogSink): Promise<void> {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    logger.warn({ err, dir }, 'cannot read the task directory for health check leftovers');
    return Promise.resolve();
  }
  const records: CheckRecord[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    if (outputName.test(name)) unlinkIf(file, (st) => st.isFIFO(), logger);
    if (!recordName.test(name)) continue;
    try {
      const r = readJson<unknown>(file);
      if (validRecord(r)) records.push(r);
      else if (r !== null) logger.warn({ file }, 'not a health check record: its check is not looked for');
    } catch (err) {
      logger.warn({ err, file }, 'cannot read a health check record: its check is not looked for');
    }
    unlinkIf(file, (st) => st.isFile(), logger);
  }
  if (task === null) return Promise.resolve();
  return (async () => {
    for (const r of records) {
      await killRecordedCheck(r, task).catch((err: unknown) => logger.warn({ err, pid: r.pid }, 'cannot kill an earlier daemon\'s health check'));
    }
  })();
}
