import { isCode, peekExited, reap, setChildSubreaper } from '../../sys/index.js';
import { TaskioError } from '../../errors.js';
import { listChildren, parentPid, startTimeOf } from './children.js';
import type { Exit } from './exit.js';
import { ExitLog } from './exitLog.js';
import { OwnedChildren } from './owned.js';
import { ExitSubscription, type ExitSource } from './subscription.js';

/** containerd's `ProcessMonitor`: hands out subscriptions to the exits it sees. */
export interface ProcessMonitor {
  /** Starts delivering every exit seen from now on (starting the monitor if needed). */
  subscribe(): ExitSubscription;
  /** Stops delivering to `s` and ends it. */
  unsubscribe(s: ExitSubscription): void;
}

/** Options of a {@link Monitor}. */
export interface MonitorOptions {
  /**
   * The safety poll in ms (default 1000). `SIGCHLD` does the real work; the poll only covers a
   * signal lost while the monitor was busy, so it can be slow.
   */
  pollInterval?: number;
  /**
   * How many exits are kept for subscriptions (default 4096), in one log shared by all of them: a
   * process whose pid is learnt late (from a runtime's pid file) is found there if fewer than this
   * many exits happened in the process meanwhile (otherwise `wait` says so with `ERR_NOT_FOUND`
   * rather than wait for the pid's next owner); an iterator that falls this far behind skips exits.
   */
  retain?: number;
}

/** Only one monitor may reap in a process: two would steal each other's exits. */
let running: Monitor | null = null;

/**
 * The reaper and exit monitor (containerd's `reaper.Monitor`) for a Node process.
 *
 * Once started, the process is a child subreaper, so orphaned descendants — the runsc sandbox,
 * runc's init, a `runsc exec --detach` process — are re-parented to it, and the monitor reaps
 * them by pid and publishes their exits. It never calls `waitpid(-1)`: children that libuv
 * spawned (`child_process`, execa) are left to libuv, which would otherwise lose their exit and
 * never emit `'exit'`; their exits are still published when libuv reports them. Children spawned
 * by anything else that reaps (node-pty) must be declared with {@link exclude}.
 *
 * Reaping runs on `SIGCHLD` (deferred with `setImmediate` so libuv reaps its own first) and on a
 * slow, unref'd safety poll. `waitid(P_ALL, WNOWAIT)` finds an exited child cheaply, but it keeps
 * returning the same exited libuv child until libuv reaps it, hiding every other exit; when it
 * returns one of those, the monitor lists its children from `/proc/self/task/<tid>/children` and
 * tries `waitpid(pid, WNOHANG)` on each that is not libuv's.
 */
export class Monitor implements ProcessMonitor {
  readonly #subscriptions = new Set<ExitSubscription>();
  readonly #owned = new OwnedChildren((pid, status, startTime) => this.#publish([exitOf(pid, status, startTime)]));
  readonly #log: ExitLog;
  readonly #source: ExitSource;
  readonly #pollInterval: number;
  #timer: NodeJS.Timeout | null = null;
  #scheduled = false;
  #holds = 0;
  readonly #onSigchld = (): void => this.#schedule();

  /** Makes a monitor; most code should use {@link defaultMonitor}. */
  constructor(opts: MonitorOptions = {}) {
    this.#pollInterval = opts.pollInterval ?? 1000;
    this.#log = new ExitLog(opts.retain ?? 4096);
    this.#source = {
      log: this.#log,
      identify: (pid) => {
        // A child another reaper owns is live until that reaper reports its exit, even once /proc
        // no longer knows the pid (libuv reaped it and has not emitted 'exit' yet).
        if (this.#owned.has(pid)) return { live: true, startTime: this.#owned.startTimeOf(pid) };
        const startTime = startTimeOf(pid);
        return startTime === null ? { live: false } : { live: true, startTime };
      },
      holding: (delta) => this.#hold(delta),
    };
  }

  /** True between {@link start} and {@link stop}. */
  get running(): boolean {
    return running === this;
  }

  /**
   * Becomes the process's reaper: sets the child-subreaper flag, takes every existing child as
   * someone else's (none of them can be an orphan of ours yet), and starts watching. Idempotent.
   * Throws `ERR_MONITOR_RUNNING` when another monitor is running in this process.
   */
  start(): void {
    if (running === this) return;
    if (running !== null) throw new TaskioError('ERR_MONITOR_RUNNING', 'another exit monitor already reaps in this process');
    setChildSubreaper(true);
    running = this;
    this.#owned.start(listChildren() ?? []);
    process.on('SIGCHLD', this.#onSigchld);
    this.#timer = setInterval(() => this.reapNow(), this.#pollInterval);
    if (this.#holds === 0) this.#timer.unref();
    // Anything re-parented between prctl and now sent its SIGCHLD before we listened.
    this.#schedule();
  }

  /**
   * Stops watching and ends every subscription. The subreaper flag stays set: orphans that arrive
   * later become zombies until a monitor runs again, which is what a stopped reaper means.
   */
  stop(): void {
    if (running !== this) return;
    running = null;
    process.off('SIGCHLD', this.#onSigchld);
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#owned.stop();
    for (const s of this.#subscriptions) this.unsubscribe(s);
  }

  /** {@inheritDoc ProcessMonitor.subscribe} */
  subscribe(): ExitSubscription {
    this.start();
    const s = ExitSubscription.fromSource(this.#source);
    this.#subscriptions.add(s);
    return s;
  }

  /** {@inheritDoc ProcessMonitor.unsubscribe} */
  unsubscribe(s: ExitSubscription): void {
    if (!this.#subscriptions.delete(s)) return;
    s.end();
  }

  /**
   * Declares that `pid` (a child of this process) is reaped by someone else — node-pty, a native
   * addon — so the monitor never waits for it. Call it right after the synchronous spawn returns,
   * before yielding to the event loop. `child_process` children need no declaration.
   */
  exclude(pid: number): void {
    this.#owned.add(pid);
  }

  /**
   * Reports the exit of an {@link exclude}d pid that its owner reaped: subscribers get it like any
   * other exit, and the pid is no longer protected (it may be reused).
   */
  notifyExit(pid: number, status: number): void {
    this.#publish([exitOf(pid, status, this.#owned.delete(pid))]);
  }

  /**
   * Reaps every exited child that is not libuv's or {@link exclude}d, publishes the exits and
   * returns them. Runs by itself on `SIGCHLD`; callable directly, e.g. after a runtime command
   * whose orphan must be collected now.
   */
  reapNow(): Exit[] {
    if (running !== this) return [];
    const exits: Exit[] = [];
    let hidden = false;
    // Fast path: waitid(P_ALL, WNOWAIT) names an exited child without reaping it.
    for (;;) {
      const seen = peekExited();
      if (seen === null) break;
      if (this.#owned.has(seen.pid)) {
        hidden = true; // libuv has not reaped it yet, and it hides any other exited child
        break;
      }
      // Identified while still a zombie: once reaped, the pid names nobody.
      const startTime = startTimeOf(seen.pid) ?? undefined;
      const status = this.#reap(seen.pid);
      if (status === null) {
        hidden = true; // cannot happen for our own zombie; fall back to the full listing
        break;
      }
      exits.push(exitOf(seen.pid, status, startTime));
    }
    if (hidden) {
      const children = listChildren();
      if (children !== null) {
        for (const pid of children) {
          if (this.#owned.has(pid)) continue;
          if (peekExited(pid) === null) continue; // running: its SIGCHLD will come
          const startTime = startTimeOf(pid) ?? undefined;
          const status = this.#reap(pid);
          if (status !== null) exits.push(exitOf(pid, status, startTime));
        }
        this.#owned.prune(new Set(children), (pid) => parentPid(pid) === process.pid);
      }
    }
    this.#publish(exits);
    return exits;
  }

  /** `waitpid(pid, WNOHANG)`; null when still running or no longer our child. */
  #reap(pid: number): number | null {
    try {
      return reap(pid);
    } catch (err) {
      if (isCode(err, 'ECHILD')) return null;
      throw err;
    }
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // Deferred so libuv's own SIGCHLD handling reaps its children first and does not hide ours.
    setImmediate(() => {
      this.#scheduled = false;
      this.reapNow();
    });
  }

  #hold(delta: number): void {
    this.#holds += delta;
    // A pending wait for an orphan has nothing else keeping the event loop alive.
    if (this.#holds > 0) this.#timer?.ref();
    else this.#timer?.unref();
  }

  #publish(exits: Exit[]): void {
    let thrown: unknown;
    for (const exit of exits) {
      this.#log.append(exit);
      for (const s of this.#subscriptions) {
        const err = s.deliver(exit);
        if (err !== undefined && thrown === undefined) thrown = err;
      }
    }
    // A throwing 'exit' listener is a bug like any other uncaught exception, but it must not stop
    // delivery to other subscribers or leave later exits unpublished.
    if (thrown !== undefined) process.nextTick(() => { throw thrown; });
  }
}

function exitOf(pid: number, status: number, startTime: number | undefined): Exit {
  return startTime === undefined ? { timestamp: new Date(), pid, status } : { timestamp: new Date(), pid, status, startTime };
}

/**
 * The monitor that reaps in this process now, if one runs: children spawned outside libuv
 * (`posixSpawn`) get their exit from it.
 */
export function runningMonitor(): Monitor | null {
  return running;
}

/** The process-wide monitor (containerd's `reaper.Default`). Started by its first `subscribe()`. */
export const defaultMonitor = new Monitor();
