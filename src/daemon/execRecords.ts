import type { LogSink } from '../log.js';
import type { Process } from '../runtime/proc/index.js';
import type { ExitRecord } from './records.js';

/**
 * What the daemon drives of an exec's process: an exec'd {@link Process}, or a copy helper's
 * (`copyHelper.ts`). `release` is spelled out: `Process.release` is internal, and a `Pick` of it
 * would not type-check in the published declarations.
 */
export type ExecProcess = Pick<Process, 'pid' | 'kill' | 'resize' | 'closeStdin' | 'delete'> & {
  /** Releases stdio and pid files (the task is being deleted). @internal */
  release(): Promise<void>;
};

/** An exec'd process of a task, as the daemon tracks it. */
export interface DaemonExec {
  id: string;
  process: ExecProcess;
  args: string[];
  terminal: boolean;
  exit: ExitRecord | null;
  exited: Promise<ExitRecord>;
}

/**
 * How many ended execs a running task keeps (the last ones to end). Docker keeps every one until
 * the container stops, and users filed the growth as a bug (moby#12899, moby#14444: 7000 exec ids
 * on one container in 12 hours of `exec` health probes): a task may run for months, and a client
 * that never deletes its exec — `exec -d`, a detach, a client that was killed — is common. Far more
 * than the execs whose clients are between the exec's end and their `wait` at any one time.
 */
export const endedExecsKept = 64;

/**
 * The exec records of one run of a task (`execs` in inspect, `GET /tasks/:id/exec/:exec`). A record
 * outlives its process, so that a client reads the exit after the fact (docker's exec inspect), until
 * its client deletes it, or at the latest:
 * - once {@link endedExecsKept} execs of the run ended after it (the oldest end goes first);
 * - once the run ended: every record goes as its exec ends — docker's cleanup after a container's exit
 *   unregisters its execs. A running exec is never dropped: it goes once its exit is known, so a
 *   client waiting on it gets its code first. One whose client still read its output when it ended
 *   (`taskio exec`, between the exec's answer and its wait, which is another request) goes once a
 *   wait got its exit, its client deleted it, or the task is deleted or runs again: dropped at the
 *   run's end, its client's wait would find no exec and the command exit 125 for an exec that ran.
 *
 * A record that goes takes its process's stdio and pid files (`<taskdir>/execs/`) with it: its
 * process is deleted, its output delivered first (bounded by the task's drain timeout).
 */
export class ExecRecords {
  readonly #records = new Map<string, DaemonExec>();
  /** The ids of the ended records, oldest end first (a Set keeps insertion order). */
  readonly #ended = new Set<string>();
  /** The ended records whose client still read their output at their end: kept for its wait once the run ended. */
  readonly #awaited = new Set<string>();
  readonly #logger: LogSink;
  readonly #taskId: string;
  #runEnded = false;

  constructor(taskId: string, logger: LogSink) {
    this.#taskId = taskId;
    this.#logger = logger;
  }

  has(id: string): boolean {
    return this.#records.has(id);
  }

  get(id: string): DaemonExec | undefined {
    return this.#records.get(id);
  }

  /** The ids, in the order the execs started. */
  ids(): string[] {
    return [...this.#records.keys()];
  }

  /** The records whose process still runs. */
  running(): DaemonExec[] {
    return [...this.#records.values()].filter((e) => e.exit === null);
  }

  add(e: DaemonExec): void {
    this.#records.set(e.id, e);
  }

  /**
   * Exec `e` ended (its exit is recorded and told): the oldest ended records beyond the bound go, or,
   * the run over, this one — unless `clientReads` (its client holds its FIFO set's reader lock: it
   * will ask for the exit), then it stays for that client's {@link waited}.
   */
  ended(e: DaemonExec, clientReads = false): void {
    if (this.#records.get(e.id) !== e) return; // its client deleted it meanwhile
    this.#ended.add(e.id);
    if (clientReads) this.#awaited.add(e.id);
    if (this.#runEnded) return this.#dropEnded();
    for (const id of this.#ended) {
      if (this.#ended.size <= endedExecsKept) break;
      void this.#dropInBackground(id);
    }
  }

  /** The task's run ended (its init exited): the ended records go now, the others as their execs end. */
  runEnded(): void {
    this.#runEnded = true;
    this.#dropEnded();
  }

  /** A wait got exec `id`'s exit: its record goes if the run ended (kept for that wait). */
  waited(id: string): void {
    if (!this.#awaited.delete(id)) return;
    if (this.#runEnded && this.#ended.has(id)) void this.#dropInBackground(id);
  }

  /**
   * Removes record `id` (gone at once for every later request) and deletes its process: its output
   * delivered (bounded), its stdio and pid files released. The caller checked that it ended.
   */
  async drop(id: string): Promise<void> {
    const e = this.#records.get(id);
    if (!e) return;
    this.#records.delete(id);
    this.#ended.delete(id);
    this.#awaited.delete(id);
    await e.process.delete();
  }

  /** The task is deleted or runs again: every process left is released (its runtime deleted them), no record stays. */
  async releaseAll(): Promise<void> {
    const all = [...this.#records.values()];
    this.#records.clear();
    this.#ended.clear();
    this.#awaited.clear();
    for (const e of all) await e.process.release().catch(() => undefined);
  }

  /** The run over: the ended records go, but those kept for their client's wait. */
  #dropEnded(): void {
    for (const id of this.#ended) if (!this.#awaited.has(id)) void this.#dropInBackground(id);
  }

  async #dropInBackground(id: string): Promise<void> {
    try {
      await this.drop(id);
    } catch (err) {
      // Released meanwhile by the task's delete (`cannot delete a deleted process`): nothing left to do.
      if ((err as { code?: string }).code === 'ERR_INVALID_STATE') return;
      this.#logger.warn({ err, id: this.#taskId, execId: id }, 'cannot delete an ended exec\'s process');
    }
  }
}
