import { EventEmitter } from 'node:events';
import { TaskioError, abortError } from '../../errors.js';
import type { Exit } from './exit.js';

/** The events of an {@link ExitSubscription}. */
export interface ExitSubscriptionEvents {
  /** One process exited. */
  exit: [exit: Exit];
  /** The subscription ended (unsubscribed); no more exits follow. */
  close: [];
}

/** A pending {@link ExitSubscription.wait}. */
interface Waiter {
  settle(exit: Exit): void;
  fail(err: Error): void;
}

/** How many exits a subscription keeps for its iterator and for {@link ExitSubscription.wait}. */
const RETAINED = 1 << 16;

/** What the monitor gives a subscription so pending waits can keep the process alive. */
export interface SubscriptionHooks {
  /** Called with +1 when a `wait()` starts and -1 when it settles. */
  holding(delta: number): void;
}

/**
 * The exits a monitor reaped after {@link ProcessMonitor.subscribe} returned, delivered three ways:
 * as `'exit'` events, as an async iterator (`for await (const e of sub)`), and by pid through
 * {@link wait}. Exits are buffered from the moment of subscribing, so a process started after
 * subscribing cannot exit unseen, however fast it exits and however late the caller learns its pid
 * (the runtime's pid file is read after `create` returns). The buffers are bounded: past 65536
 * unconsumed exits the oldest are dropped.
 */
export class ExitSubscription extends EventEmitter<ExitSubscriptionEvents> implements AsyncIterable<Exit> {
  /** Exits not yet taken by the iterator. */
  readonly #queue: Exit[] = [];
  /** The iterator's pending `next()` calls when the queue is empty. */
  readonly #takers: Array<(r: IteratorResult<Exit>) => void> = [];
  /** Every exit seen, by pid (the newest per pid), for `wait(pid)`. */
  readonly #byPid = new Map<number, Exit>();
  readonly #waiters = new Map<number, Set<Waiter>>();
  readonly #hooks: SubscriptionHooks | undefined;
  #closed = false;

  /** Made by a monitor's `subscribe()`; `hooks` lets pending waits hold the event loop. */
  constructor(hooks?: SubscriptionHooks) {
    super();
    this.#hooks = hooks;
  }

  /** True once unsubscribed: no more exits arrive. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Resolves with the exit of `pid`: at once if it was already seen since subscribing, else when
   * it arrives. Rejects with an `AbortError` on `signal`, and with `ERR_SUBSCRIPTION_CLOSED` when
   * the subscription ends first.
   */
  wait(pid: number, signal?: AbortSignal): Promise<Exit> {
    const seen = this.#byPid.get(pid);
    if (seen !== undefined) return Promise.resolve(seen);
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.#closed) return Promise.reject(closedError());
    return new Promise<Exit>((resolve, reject) => {
      let set = this.#waiters.get(pid);
      if (set === undefined) this.#waiters.set(pid, (set = new Set()));
      const waiter: Waiter = {
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
        this.#hooks?.holding(-1);
      };
      set.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#hooks?.holding(+1);
    });
  }

  /** The exit of `pid` if it was seen since subscribing, else undefined. */
  exitOf(pid: number): Exit | undefined {
    return this.#byPid.get(pid);
  }

  /**
   * Hands one exit to this subscription. Called by the monitor; returns the error a listener threw,
   * so one bad listener does not stop delivery to the other subscriptions.
   * @internal
   */
  deliver(exit: Exit): unknown {
    if (this.#closed) return undefined;
    this.#byPid.delete(exit.pid);
    this.#byPid.set(exit.pid, exit);
    if (this.#byPid.size > RETAINED) this.#byPid.delete(this.#byPid.keys().next().value!);
    const taker = this.#takers.shift();
    if (taker !== undefined) taker({ value: exit, done: false });
    else {
      this.#queue.push(exit);
      if (this.#queue.length > RETAINED) this.#queue.shift();
    }
    const waiters = this.#waiters.get(exit.pid);
    if (waiters !== undefined) for (const w of [...waiters]) w.settle(exit);
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
    for (const taker of this.#takers.splice(0)) taker({ value: undefined, done: true });
    this.#queue.length = 0;
    this.#byPid.clear();
    for (const set of [...this.#waiters.values()]) for (const w of [...set]) w.fail(closedError());
    this.emit('close');
  }

  /**
   * Iterates the exits in the order they were reaped, starting with those buffered since
   * subscribing. Ends when the subscription is closed. Leaving the loop early (`break`) does not
   * unsubscribe: the subscription belongs to whoever called `subscribe()`.
   */
  [Symbol.asyncIterator](): AsyncIterator<Exit> {
    return {
      next: (): Promise<IteratorResult<Exit>> => {
        const exit = this.#queue.shift();
        if (exit !== undefined) return Promise.resolve({ value: exit, done: false });
        if (this.#closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#takers.push(resolve));
      },
      return: (): Promise<IteratorResult<Exit>> => Promise.resolve({ value: undefined, done: true }),
    };
  }
}

function closedError(): TaskioError {
  return new TaskioError('ERR_SUBSCRIPTION_CLOSED', 'the exit subscription was closed');
}
