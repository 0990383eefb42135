import { EventEmitter } from 'node:events';
import { TaskioError, abortError } from '../../errors.js';
import type { Exit } from './exit.js';
import type { ExitLog } from './exitLog.js';

/** The events of an {@link ExitSubscription}. */
export interface ExitSubscriptionEvents {
  /** One process exited. */
  exit: [exit: Exit];
  /** The subscription ended (unsubscribed); no more exits follow. */
  close: [];
}

/** A pending {@link ExitSubscription.wait}: the process it waits for, and how to settle it. */
interface Waiter {
  /** The start time of the awaited process, when it was known at `wait()`. */
  startTime: number | undefined;
  settle(exit: Exit): void;
  fail(err: Error): void;
}

/** A pending `next()` of an iterator (`of`, the iterator's token). */
interface Taker {
  of: object;
  resolve(r: IteratorResult<Exit>): void;
}

const DONE: IteratorResult<Exit> = Object.freeze({ value: undefined, done: true });

/** Whether a pid names a process whose exit is still to come, and which process. @internal */
export interface PidIdentity {
  /** True while the pid names a process whose exit has not been published (running, or not reaped yet). */
  live: boolean;
  /** The start time of that process, when it could be read. */
  startTime?: number;
}

/** What a subscription reads from its monitor. @internal */
export interface ExitSource {
  /** The exits the monitor published, shared by its subscriptions. */
  readonly log: ExitLog;
  /** What `pid` names now. */
  identify(pid: number): PidIdentity;
  /** Called with +1 when a `wait()` starts and -1 when it settles, so pending waits keep the process alive. */
  holding(delta: number): void;
}

/**
 * The exits a monitor reaped after {@link ProcessMonitor.subscribe} returned, delivered three ways:
 * as `'exit'` events, as an async iterator (`for await (const e of sub)`), and by process through
 * {@link wait}.
 *
 * A process started after subscribing cannot exit unseen, however fast it exits and however late the
 * caller learns its pid (the runtime's pid file is read after `create` returns): `wait(pid)` also
 * looks at the exits published since subscribing. Pids are reused, though, and a long-lived
 * subscription sees many exits (every runtime CLI call is one), so `wait(pid)` first asks what the
 * pid names now: a process whose exit is still to come (running, or a zombie not reaped yet) is
 * waited for, and no earlier exit of that pid — another process's — is ever taken for it; only a pid
 * that names nobody any more is looked up among the exits since subscribing (its newest). Exits
 * are kept once, in the monitor's bounded log ({@link MonitorOptions.retain}); a subscription holds
 * no exits of its own.
 */
export class ExitSubscription extends EventEmitter<ExitSubscriptionEvents> implements AsyncIterable<Exit> {
  readonly #source: ExitSource;
  /** The first log entry that is this subscription's: what was published before it is not. */
  readonly #from: number;
  /** The next log entry the iterator yields. */
  #cursor: number;
  /** The iterators' pending `next()` calls, waiting for the next exit, each with its iterator. */
  #takers: Taker[] = [];
  readonly #waiters = new Map<number, Set<Waiter>>();
  #closed = false;

  /**
   * Made by a monitor's `subscribe()` (through `fromSource`). Private, so the published declarations refuse `new ExitSubscription()`: a
   * constructor marked internal would vanish from them and leave TypeScript's implicit public one.
   */
  private constructor(source: ExitSource) {
    super();
    this.#source = source;
    this.#from = this.#cursor = source.log.next;
  }

  /** @internal a subscription to the exits `source` publishes from now on. */
  static fromSource(source: ExitSource): ExitSubscription {
    return new ExitSubscription(source);
  }

  /** True once unsubscribed: no more exits arrive. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Resolves with the exit of the process that has `pid` now, when it exits; if no process has
   * `pid` any more, with the newest exit of `pid` since subscribing (at once) or, when there is
   * none yet, the next one. Rejects with an `AbortError` on `signal`, with
   * `ERR_SUBSCRIPTION_CLOSED` when the subscription ends first, and with `ERR_NOT_FOUND` (at once)
   * when no process has `pid`, no exit of it is kept, and the monitor's log has dropped exits
   * published since subscribing ({@link MonitorOptions.retain}): the exit may have been one of them.
   */
  wait(pid: number, signal?: AbortSignal): Promise<Exit> {
    const now = this.#source.identify(pid);
    const seen = this.#closed || now.live ? undefined : this.#source.log.newest(pid, this.#from);
    if (seen !== undefined) return Promise.resolve(seen);
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.#closed) return Promise.reject(closedError());
    // Waiting for "the next exit" of a pid whose exit was dropped would wait for whichever process
    // gets the pid next, and take that one's exit for it.
    if (!now.live && this.#source.log.first > this.#from) {
      return Promise.reject(new TaskioError('ERR_NOT_FOUND', `no exit of pid ${pid} is kept: more exits than the monitor retains were published since subscribing, and it may have been one of them`));
    }
    return new Promise<Exit>((resolve, reject) => {
      let set = this.#waiters.get(pid);
      if (set === undefined) this.#waiters.set(pid, (set = new Set()));
      const waiter: Waiter = {
        startTime: now.startTime,
        settle: (e) => {
          done();
          resolve(e);
        },
        fail: (err) => {
          done();
          reject(err);
        },
      };
      const onAbort = (): void => waiter.fail(abortError(signal));
      const done = (): void => {
        set.delete(waiter);
        if (set.size === 0 && this.#waiters.get(pid) === set) this.#waiters.delete(pid);
        signal?.removeEventListener('abort', onAbort);
        this.#source.holding(-1);
      };
      set.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#source.holding(+1);
    });
  }

  /** The exit of the process that had `pid`, if no process has it now and it exited since subscribing. */
  exitOf(pid: number): Exit | undefined {
    if (this.#closed || this.#source.identify(pid).live) return undefined;
    return this.#source.log.newest(pid, this.#from);
  }

  /**
   * Hands the exit the monitor has just appended to its log to this subscription. Returns the error
   * a listener threw, so one bad listener does not stop delivery to the other subscriptions.
   * @internal
   */
  deliver(exit: Exit): unknown {
    if (this.#closed) return undefined;
    this.#feedTakers();
    const waiters = this.#waiters.get(exit.pid);
    if (waiters !== undefined) {
      for (const w of [...waiters]) {
        // The awaited process had the pid when wait() was called and a pid is not reused before
        // its owner's exit, so the next exit of the pid is its own; the start times (where both
        // are known) only guard against an exit published late for an older process.
        if (w.startTime === undefined || exit.startTime === undefined || exit.startTime === w.startTime) w.settle(exit);
      }
    }
    try {
      this.emit('exit', exit);
    } catch (err) {
      return err;
    }
    return undefined;
  }

  /**
   * Ends the subscription: iterators finish, pending waits reject, `'close'` is emitted.
   * Called by the monitor's `unsubscribe()`.
   * @internal
   */
  end(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const taker of this.#takers.splice(0)) taker.resolve(DONE);
    for (const set of [...this.#waiters.values()]) for (const w of [...set]) w.fail(closedError());
    this.emit('close');
  }

  /**
   * Iterates the exits in the order they were reaped, starting with those published since
   * subscribing (an iterator that falls more than the monitor's `retain` exits behind skips the
   * oldest). Ends when the subscription is closed. Leaving the loop early (`break`) does not
   * unsubscribe: the subscription belongs to whoever called `subscribe()`, and a later loop goes on
   * from the first exit this one did not take. `return()` ends this iterator only: a `next()` of
   * it still waiting ends too, and takes no exit away from the loops that follow.
   */
  [Symbol.asyncIterator](): AsyncIterator<Exit> {
    const token = {};
    let returned = false;
    return {
      next: (): Promise<IteratorResult<Exit>> => {
        const exit = this.#closed || returned ? undefined : this.#take();
        if (exit !== undefined) return Promise.resolve({ value: exit, done: false });
        if (this.#closed || returned) return Promise.resolve(DONE);
        return new Promise((resolve) => this.#takers.push({ of: token, resolve }));
      },
      return: (): Promise<IteratorResult<Exit>> => {
        returned = true;
        const mine = this.#takers.filter((taker) => taker.of === token);
        this.#takers = this.#takers.filter((taker) => taker.of !== token);
        for (const taker of mine) taker.resolve(DONE);
        return Promise.resolve(DONE);
      },
    };
  }

  /** The next exit for the iterator, if one is in the log. */
  #take(): Exit | undefined {
    const log = this.#source.log;
    this.#cursor = Math.max(this.#cursor, log.first);
    const exit = log.at(this.#cursor);
    if (exit !== undefined) this.#cursor++;
    return exit;
  }

  #feedTakers(): void {
    while (this.#takers.length > 0) {
      const exit = this.#take();
      if (exit === undefined) return;
      this.#takers.shift()!.resolve({ value: exit, done: false });
    }
  }
}

function closedError(): TaskioError {
  return new TaskioError('ERR_SUBSCRIPTION_CLOSED', 'the exit subscription was closed');
}
