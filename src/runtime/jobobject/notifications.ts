import fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { TaskioError } from '../../errors.js';
import { parseKeyed, readOptional, watchQuietly, type CgroupSet } from './cgroup.js';
import { memoryEvents, readLimitHits, type MemoryEvents } from './memoryEvents.js';

/** hcsshim's message that every process in a job has exited (Windows `JOB_OBJECT_MSG_ACTIVE_PROCESS_ZERO`). */
export class MsgAllProcessesExited {
  /** A tag for `switch`, since the class has no other fields. */
  readonly kind = 'AllProcessesExited' as const;
}

/**
 * The job hit its memory limit (Windows `JOB_OBJECT_MSG_JOB_MEMORY_LIMIT`; not in hcsshim, which reports
 * that one as {@link MsgUnimplemented}): sent once for each time a process of the job would have gone
 * past the job's memory limit. Windows fails that allocation; Linux runs the OOM killer, which kills a
 * process of the job. On Linux it is read from the kernel's counters (`memoryEvents.ts`: cgroup2
 * `memory.events` `oom`, v1 `memory.oom_control` `oom_kill`), counting from when the handle was opened;
 * a hit comes before the {@link MsgAllProcessesExited} of an OOM kill that emptied the job.
 */
export class MsgJobMemoryLimit {
  /** A tag for `switch`. */
  readonly kind = 'JobMemoryLimit' as const;
}

/**
 * hcsshim's message for a notification that is known but not implemented. The Windows backend produces
 * it for every job message other than ACTIVE_PROCESS_ZERO and JOB_MEMORY_LIMIT (new or exited processes,
 * other limits hit and so on); Linux cgroups give none of those, so the cgroup backend never produces it.
 */
export class MsgUnimplemented {
  /** A tag for `switch`. */
  readonly kind = 'Unimplemented' as const;
}

/** A notification from {@link JobObject.pollNotification}. */
export type JobNotification = MsgAllProcessesExited | MsgJobMemoryLimit | MsgUnimplemented;

/**
 * How often the fallback polls where the kernel notifies no change: `cgroup.procs` without cgroup2's
 * `cgroup.events`, and v1's `memory.oom_control`.
 */
export const PollIntervalMs = 100;

/**
 * Turns a job's changes into queued messages, so none is lost (hcsshim's message queue):
 * {@link MsgJobMemoryLimit} for each new memory limit hit and {@link MsgAllProcessesExited} for the
 * job found empty. It watches cgroup2's `cgroup.events` and `memory.events` with inotify (`fs.watch`),
 * and polls every {@link PollIntervalMs} what gives no event (`cgroup.procs` without cgroup2, v1's
 * `memory.oom_control`, a watch that failed); every change reads both. The exit message is sent when
 * the job is found empty after it held a process — "armed" by seeing it populated, by an assign, or by
 * the exit of a child this handle spawned — so a process that comes and goes between two reads still
 * yields exactly one message.
 */
export class JobNotifier {
  readonly #queue: JobNotification[] = [];
  readonly #waiters: Array<{ resolve: (m: JobNotification) => void; reject: (e: Error) => void }> = [];
  #armed = false;
  readonly #inFlight = new Set<ChildProcess>();
  #closed = false;
  readonly #watchers = new Set<fs.FSWatcher>();
  #timer?: NodeJS.Timeout;
  #chain: Promise<void> = Promise.resolve();
  readonly #cgroup: CgroupSet;
  /** cgroup2's `cgroup.events`, where the kernel has it. */
  #events?: string;
  /** The job's memory limit counter and the hits already reported, where the kernel has one. */
  #memory?: { events: MemoryEvents; hits: number };

  constructor(cgroup: CgroupSet) {
    this.#cgroup = cgroup;
  }

  /** Starts watching and takes the job's current state (population, hits so far) as the starting point. */
  async start(): Promise<void> {
    const events = this.#cgroup.eventsFile;
    if (events !== undefined && (await readOptional(events)) !== undefined) this.#events = events;
    const memory = this.#cgroup.memory === undefined ? undefined : memoryEvents(this.#cgroup.memory);
    const hits = memory === undefined ? undefined : await readLimitHits(memory);
    if (memory !== undefined && hits !== undefined) this.#memory = { events: memory, hits };

    if (this.#events === undefined) this.#pollFromNowOn();
    else this.#watch(this.#events);
    if (this.#memory?.events.notifies === false) this.#pollFromNowOn();
    else if (this.#memory !== undefined) this.#watch(this.#memory.events.file);
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
    for (const w of this.#watchers) w.close();
    this.#watchers.clear();
    clearInterval(this.#timer);
    for (const w of this.#waiters.splice(0)) w.reject(alreadyClosed());
  }

  // A watch that cannot be made, or fails later, leaves that file to the poll.
  #watch(file: string): void {
    const w = watchQuietly(file, () => this.#check(), () => {
      this.#watchers.delete(w!);
      this.#pollFromNowOn();
      this.#check();
    });
    if (w === undefined) this.#pollFromNowOn();
    else this.#watchers.add(w);
  }

  #pollFromNowOn(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#check(), PollIntervalMs);
    this.#updateRef();
  }

  // A job object nobody waits on must not keep Node alive; one with a pending poll must.
  #updateRef(): void {
    const want = this.#waiters.length > 0;
    for (const w of this.#watchers) want ? w.ref() : w.unref();
    if (this.#timer !== undefined) want ? this.#timer.ref() : this.#timer.unref();
  }

  // Reads are chained so that their results are applied in the order the kernel produced them. Hits
  // are read after the population and told before the exit: the OOM kill that emptied the job was
  // counted before the job was empty.
  #check(): void {
    this.#chain = this.#chain.then(async () => {
      if (this.#closed) return;
      let populated: boolean;
      try {
        populated = await this.#populated();
        await this.#deliverHits();
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

  // One message for each hit counted since the last read: a counter, so none is lost or told twice.
  async #deliverHits(): Promise<void> {
    const m = this.#memory;
    const now = m === undefined ? undefined : await readLimitHits(m.events);
    if (m === undefined || now === undefined) return;
    m.hits = Math.min(m.hits, now); // a job of that name made again starts from 0
    for (; m.hits < now; m.hits++) this.#deliver(new MsgJobMemoryLimit());
  }

  async #populated(): Promise<boolean> {
    if (this.#events !== undefined) return parseKeyed(await fs.promises.readFile(this.#events, 'utf8')).get('populated') === 1;
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
