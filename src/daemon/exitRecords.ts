import type { Logger } from 'pino';
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
    const { found, waitedMs } = await this.#lookup(id, recorder);
    if (waitedMs === null) {
      if (found === null && recorder !== undefined && this.#silent.has(claimKey(recorder))) {
        this.#logger.warn({ ...log, pid: id.pid, recorder: recorder.pid }, 'the exit recorder wrote no record in an earlier wait: not waited for again, the exit status is unknown');
      } else if (found === null) this.#logger.info({ ...log, pid: id.pid }, 'no exit recorder lives that would have the exit status: it is unknown');
    } else if (found === null) {
      this.#logger.warn({ ...log, pid: id.pid, recorder: recorder?.pid, waitedMs }, 'the exit recorder recorded no exit status: it is unknown');
    } else {
      this.#logger.debug({ ...log, pid: id.pid, waitedMs }, 'waited for the exit recorder\'s record');
    }
    return found;
  }

  /** {@link find} without its log: the record, and how long it was waited for (null: not at all). */
  async #lookup(id: ProcessIdentity, recorder: ProcessIdentity | undefined): Promise<{ found: RecordedExit | null; waitedMs: number | null }> {
    let found = readRecordedExit(this.#dir, id);
    const recorderLives = (): boolean => recorder !== undefined && isSameLiveProcess(recorder.pid, recorder.startTime);
    if (found !== null || !recorderLives() || this.#silent.has(claimKey(recorder!))) return { found, waitedMs: null };
    const started = Date.now();
    await pollUntil(() => (found = readRecordedExit(this.#dir, id)) !== null || !recorderLives(), AbortSignal.timeout(recordWaitMs));
    // A recorder writes the record before it can exit: one gone meanwhile left it there.
    found ??= readRecordedExit(this.#dir, id);
    if (found === null && recorderLives()) this.#silent.add(claimKey(recorder!));
    return { found, waitedMs: Date.now() - started };
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
    removeRecordedExit(this.#dir, id);
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
    const removed = sweepRecordedExits(this.#dir, new Set([...claimed].map(claimKey)));
    if (removed.length > 0) this.#logger.info({ removed }, 'removed the exit records no task claims');
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
