import fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { TaskioError } from '../../errors.js';
import { parseKeyed, readOptional, type CgroupSet } from './cgroup.js';

/** hcsshim's message that every process in a job has exited (Windows `JOB_OBJECT_MSG_ACTIVE_PROCESS_ZERO`). */
export class MsgAllProcessesExited {
  /** A tag for `switch`, since the class has no other fields. */
  readonly kind = 'AllProcessesExited' as const;
}

/**
 * hcsshim's message for a notification that is known but not implemented. The Windows backend produces
 * it for every job message other than ACTIVE_PROCESS_ZERO (new or exited processes, limits hit and so
 * on); Linux cgroups give none of those, so the cgroup backend never produces it.
 */
export class MsgUnimplemented {
  /** A tag for `switch`. */
  readonly kind = 'Unimplemented' as const;
}

/** A notification from {@link JobObject.pollNotification}. */
export type JobNotification = MsgAllProcessesExited | MsgUnimplemented;

/** How often the fallback polls `cgroup.procs` when there is no cgroup2 `cgroup.events` to watch. */
export const PollIntervalMs = 100;

/**
 * Turns a job's population changes into {@link MsgAllProcessesExited} messages, queued so none is lost
 * (hcsshim's message queue). It watches `cgroup.events` with inotify (`fs.watch`) and reads `populated`
 * on every change; without cgroup2 it polls `cgroup.procs`. A message is sent when the job is found empty
 * after it held a process — "armed" by seeing it populated, by an assign, or by the exit of a child this
 * handle spawned — so a process that comes and goes between two reads still yields exactly one message.
 */
export class ExitNotifier {
  readonly #queue: JobNotification[] = [];
  readonly #waiters: Array<{ resolve: (m: JobNotification) => void; reject: (e: Error) => void }> = [];
  #armed = false;
  readonly #inFlight = new Set<ChildProcess>();
  #closed = false;
  #watcher?: fs.FSWatcher;
  #timer?: NodeJS.Timeout;
  #chain: Promise<void> = Promise.resolve();
  readonly #cgroup: CgroupSet;

  constructor(cgroup: CgroupSet) {
    this.#cgroup = cgroup;
  }

  /** Starts watching and takes the job's current state as the starting point. */
  async start(): Promise<void> {
    const events = this.#cgroup.unified === undefined ? undefined : path.join(this.#cgroup.unified, 'cgroup.events');
    if (events !== undefined && (await readOptional(events)) !== undefined) {
      try {
        this.#watcher = fs.watch(events, { persistent: true }, () => this.#check());
        this.#watcher.on('error', () => this.#fallBackToPolling());
      } catch {
        this.#fallBackToPolling();
      }
    } else {
      this.#fallBackToPolling();
    }
    this.#updateRef();
    this.#check();
    await this.#chain;
  }

  /** Notes that a process was just moved in (it is inside now), so its exit is reported even if never seen. */
  arm(): void {
    this.#armed = true;
    this.#check();
  }

  /**
   * Follows a child spawned into the job. It enters a moment after spawn, and may be gone before any
   * read sees it, so its own exit arms the notifier; until then an empty read cannot mean "all exited"
   * (the kernel empties the cgroup before the parent learns of the exit, so the order is safe).
   */
  track(child: ChildProcess): void {
    this.#inFlight.add(child);
    child.once('exit', () => {
      this.#inFlight.delete(child);
      this.arm();
    });
  }

  /** Waits for the next message (queued ones first), like hcsshim's `PollNotification`. */
  next(): Promise<JobNotification> {
    if (this.#closed) return Promise.reject(alreadyClosed());
    const m = this.#queue.shift();
    if (m !== undefined) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#updateRef();
    });
  }

  /** Stops watching; pending waits fail with `ERR_ALREADY_CLOSED`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher?.close();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    for (const w of this.#waiters.splice(0)) w.reject(alreadyClosed());
  }

  #fallBackToPolling(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#check(), PollIntervalMs);
    this.#updateRef();
  }

  // A job object nobody waits on must not keep Node alive; one with a pending poll must.
  #updateRef(): void {
    const want = this.#waiters.length > 0;
    if (this.#watcher !== undefined) want ? this.#watcher.ref() : this.#watcher.unref();
    if (this.#timer !== undefined) want ? this.#timer.ref() : this.#timer.unref();
  }

  // Reads are chained so that their results are applied in the order the kernel produced them.
  #check(): void {
    this.#chain = this.#chain.then(async () => {
      if (this.#closed) return;
      let populated: boolean;
      try {
        populated = await this.#populated();
      } catch {
        return; // the cgroup is being removed; nothing more to report
      }
      if (populated) this.#armed = true;
      else if (this.#armed && this.#inFlight.size === 0) {
        this.#armed = false;
        this.#deliver(new MsgAllProcessesExited());
      }
    });
  }

  async #populated(): Promise<boolean> {
    if (this.#watcher !== undefined && this.#cgroup.unified !== undefined) {
      const text = await fs.promises.readFile(path.join(this.#cgroup.unified, 'cgroup.events'), 'utf8');
      return parseKeyed(text).get('populated') === 1;
    }
    return (await this.#cgroup.pids()).length > 0;
  }

  #deliver(m: JobNotification): void {
    const w = this.#waiters.shift();
    if (w !== undefined) w.resolve(m);
    else this.#queue.push(m);
    this.#updateRef();
  }
}

/** hcsshim's `ErrAlreadyClosed`. */
export function alreadyClosed(): TaskioError {
  return new TaskioError('ERR_ALREADY_CLOSED', 'the handle has already been closed');
}

/** hcsshim's `ErrNotRegistered`. */
export function notRegistered(): TaskioError {
  return new TaskioError('ERR_NOT_REGISTERED', 'job is not registered to receive notifications');
}
