import fs from 'node:fs';
import type { Logger } from 'pino';
import { notPrivate } from '../privateDir.js';
import { pollUntil } from '../runtime/stdio/drain.js';
import { exitFromStatus } from './exitStatus.js';
import { isSameLiveProcess, processStartTime } from './procStat.js';
import type { ExitRecord, TaskRecord } from './records.js';
import {
  claimKey, exitRecorderEnv, readRecordedExit, recordedExitsDir, removeRecordedExit, sweepRecordedExits,
  type ProcessIdentity, type RecordedExit,
} from './recordedExits.js';

/**
 * How long a record is waited for while the recorder that would write it lives. It writes it just
 * after the reap, milliseconds after the exit this daemon's pidfd poll saw; the bound only keeps a
 * recorder that cannot write (a full file system, a stopped process) from holding an exit back.
 */
const recordWaitMs = 10_000;

/** How many of the records a start's sweep removed its log line names. */
const namedInLog = 20;

/** Why a record is not waited for when no recorder that could write it lives (the common case, logged at info). */
const noRecorder = 'no exit recorder lives that would have the exit status';

/**
 * The daemon's side of the exit recorder (`exitRecorder.ts`): the exits of processes an earlier
 * daemon started — its tasks, their output keepers, sandboxes — that went to the recorder above
 * it when it died, read from the recorder's records (`<root>/exits`), and the records removed
 * once used or once nothing claims them.
 */
export class ExitRecords {
  readonly #dir: string;
  readonly #logger: Logger;
  /**
   * The recorders (`claimKey`) that lived through a whole wait without writing the record (a
   * stopped one, one that cannot write): not waited for again. A daemon adopts its tasks one after
   * another, so each exited task of such a recorder would otherwise hold its start for the whole
   * wait, and a client gives up on a daemon that does not answer within 30 s.
   */
  readonly #silent = new Set<string>();
  /** The records directory was found not private ({@link #trustedDir}), and the log told so. */
  #distrusted = false;

  constructor(root: string, logger: Logger) {
    this.#dir = recordedExitsDir(root);
    this.#logger = logger;
  }

  /**
   * The recorded exit of process `id`. When there is none yet it is waited for (at most
   * {@link recordWaitMs}), but only while `recorder` — the recorder above the daemon that started
   * the process, whose child it became — lives: no other process writes it. Null when none came;
   * `log` names the process in the daemon's log, which says whether the lookup waited.
   */
  async find(id: ProcessIdentity, recorder: ProcessIdentity | undefined, log: Record<string, unknown>): Promise<RecordedExit | null> {
    const { found, waitedMs, unwaited } = await this.#lookup(id, recorder);
    if (found === null && waitedMs === null) {
      this.#logger[unwaited === noRecorder ? 'info' : 'warn']({ ...log, pid: id.pid, recorder: recorder?.pid }, `${unwaited}: it is unknown`);
    } else if (found === null) {
      this.#logger.warn({ ...log, pid: id.pid, recorder: recorder?.pid, waitedMs }, 'the exit recorder recorded no exit status: it is unknown');
    } else if (waitedMs !== null) {
      this.#logger.debug({ ...log, pid: id.pid, waitedMs }, 'waited for the exit recorder\'s record');
    }
    return found;
  }

  /**
   * {@link find} without its log: the record, how long it was waited for (null: not at all) and,
   * when not, why (`unwaited`).
   */
  async #lookup(id: ProcessIdentity, recorder: ProcessIdentity | undefined): Promise<{ found: RecordedExit | null; waitedMs: number | null; unwaited?: string }> {
    const dir = this.#trustedDir();
    if (dir === null) return { found: null, waitedMs: null, unwaited: 'the exit records directory is not trusted (see above)' };
    let found = readRecordedExit(dir, id);
    const recorderLives = (): boolean => recorder !== undefined && isSameLiveProcess(recorder.pid, recorder.startTime);
    if (found !== null) return { found, waitedMs: null };
    if (!recorderLives()) return { found, waitedMs: null, unwaited: noRecorder };
    if (this.#silent.has(claimKey(recorder!))) return { found, waitedMs: null, unwaited: 'the exit recorder wrote no record in an earlier wait: not waited for again' };
    const started = Date.now();
    await pollUntil(() => (found = readRecordedExit(dir, id)) !== null || !recorderLives(), AbortSignal.timeout(recordWaitMs));
    // A recorder writes the record before it can exit: one gone meanwhile left it there.
    found ??= readRecordedExit(dir, id);
    if (found === null && recorderLives()) this.#silent.add(claimKey(recorder!));
    return { found, waitedMs: Date.now() - started };
  }

  /**
   * The records directory when what is in it may be trusted: a directory only this user controls,
   * as the recorder checks before it writes there (`writeRecordedExit`), or none yet. Else null, and
   * the daemon neither reads nor removes anything there: a symlink would lead its removals out of
   * the root, and records in a directory others can write could be anybody's. Told once in the log.
   */
  #trustedDir(): string | null {
    let why: string;
    try {
      const st = fs.lstatSync(this.#dir, { throwIfNoEntry: false });
      why = st === undefined ? '' : notPrivate(st);
    } catch (err) {
      why = (err as Error).message;
    }
    if (why === '') return this.#dir;
    if (!this.#distrusted) this.#logger.warn({ dir: this.#dir }, `the exit records are not read: ${why}`);
    this.#distrusted = true;
    return null;
  }

  /**
   * The exit of an adopted task whose process (`record.pid`) ended while it was not this daemon's
   * child: runc's init or a host task, from the record of the recorder above the daemon that
   * started the run ({@link find}); null when there is none (the task's exit is then unknown). A
   * runsc task's process is its sandbox, whose status is not the task's (the sandbox tells that):
   * its record is removed in the background, and null returned.
   */
  async taskExit(record: TaskRecord): Promise<ExitRecord | null> {
    const id = taskProcess(record);
    if (id === null) return null;
    if (record.runtime === 'runsc') {
      void this.discard(id, record.exitRecorder, { id: record.id });
      return null;
    }
    const found = await this.find(id, record.exitRecorder, { id: record.id });
    return found && exitFromStatus(found.status, new Date(found.exitedAt));
  }

  /** Once the task's exit file is written, or the task is removed: the record {@link taskExit} reads goes. */
  forgetTaskExit(record: TaskRecord): void {
    const id = taskProcess(record);
    if (id !== null) this.remove(id);
  }

  /** Removes the record of process `id` (once its exit is written where it is kept, or not needed). */
  remove(id: ProcessIdentity): void {
    const dir = this.#trustedDir();
    if (dir !== null) removeRecordedExit(dir, id);
  }

  /**
   * The record of process `id` whose status nobody needs (an output keeper stopped, a runsc
   * sandbox) removed, once it came ({@link find}'s wait): no record of it is left behind. Never rejects.
   */
  async discard(id: ProcessIdentity, recorder: ProcessIdentity | undefined, log: Record<string, unknown>): Promise<void> {
    try {
      if ((await this.#lookup(id, recorder)).found !== null) this.remove(id);
    } catch (err) {
      this.#logger.warn({ ...log, err }, 'cannot remove an exit record');
    }
  }

  /**
   * At the daemon's start, once its tasks are adopted: removes the records that name none of
   * `claimed` (its tasks' processes and output keepers, whose exits are still to come) — the
   * records of what no task of this root has any more (the keepers and sandboxes of tasks gone
   * meanwhile, the orphans of a host task). What a recorder writes later waits for the next start.
   */
  sweep(claimed: Iterable<ProcessIdentity>): void {
    const dir = this.#trustedDir();
    if (dir === null) return;
    const removed = sweepRecordedExits(dir, new Set([...claimed].map(claimKey)));
    // Named up to a few: after a host task's orphans or a crash loop there may be thousands.
    if (removed.length > 0) this.#logger.info({ count: removed.length, removed: removed.slice(0, namedInLog) }, 'removed the exit records no task claims');
  }
}

/** The task's process as a record names it; null when it has none (a cut create, a record from before start times). */
export function taskProcess(record: TaskRecord): ProcessIdentity | null {
  return record.pid > 0 && record.pidStartTime !== null ? { pid: record.pid, startTime: record.pidStartTime } : null;
}

/**
 * The exit recorder above this daemon, when `taskio daemon` started it under one: its parent, named
 * by {@link exitRecorderEnv}, with its start time. Null without one (a daemon started in-process, or
 * whose recorder is gone already). The variable is taken out of this process's environment: what
 * the daemon starts is not the recorder's business.
 */
export function ownExitRecorder(): ProcessIdentity | null {
  const named = Number(process.env[exitRecorderEnv]);
  delete process.env[exitRecorderEnv];
  if (!Number.isInteger(named) || named <= 1 || named !== process.ppid) return null;
  const startTime = processStartTime(named);
  return startTime === null ? null : { pid: named, startTime };
}
