import type { Clock } from './clock.js';
import {
  ErrHandleClose, ErrInvalidNotificationType, ErrTimeout, ErrUnexpectedContainerExit, ErrUnexpectedProcessAbort,
  errnoFromHresult, processHcsResult, type ErrorEvent,
} from './errors.js';
import { NotificationType, type Notification } from './notification.js';

/** How a wait for a notification ended: `err` is `null` when the expected notification reported success. */
export interface WaitOutcome {
  /** The failure, or `null`. */
  err: Error | null;
  /** The error events that came with the notification. */
  events: ErrorEvent[];
}

interface Waiter {
  expected: NotificationType;
  resolve: (o: WaitOutcome) => void;
  timer?: unknown;
}

/** Decodes a notification's HRESULT and result document into an outcome (hcsshim's `processNotification`). */
export function outcomeOf(n: Notification): WaitOutcome {
  return { err: n.status === undefined ? null : errnoFromHresult(n.status), events: processHcsResult(n.data) };
}

/**
 * The notification state machine of one HCS handle (hcsshim's callback channels plus
 * `waitForNotification`). Completion notifications are queued per type until one waiter takes each
 * (HCS may finish an operation before the caller starts waiting). The terminal notifications —
 * `SystemExited`/`ProcessExited` and `ServiceDisconnect` — are sticky instead: every current and later
 * waiter sees them. hcsshim reads them from a one-slot channel, so one waiter could swallow the exit
 * that the background `wait()` needs; making them sticky removes that race.
 *
 * Rules for a waiter expecting X:
 * - X arrives → its outcome;
 * - the handle's exit arrives first → `ErrUnexpectedContainerExit` (unless X is the exit); an X that
 *   comes after the exit (or after `ServiceDisconnect`) is dropped as late, so it cannot count;
 * - `ServiceDisconnect` → `ErrUnexpectedProcessAbort`;
 * - the timeout elapses → `ErrTimeout`;
 * - `close()` → `ErrHandleClose`; waiting on a closed watcher → `ErrHandleClose`;
 * - X is not a type this handle delivers → `ErrInvalidNotificationType`.
 */
export class NotificationWatcher {
  readonly #queues = new Map<NotificationType, Notification[]>();
  readonly #waiters: Waiter[] = [];
  readonly #exitType: NotificationType;
  readonly #clock: Clock;
  #exit: Notification | undefined;
  #disconnected = false;
  #closed = false;

  /**
   * @param types the notification types that can be waited for (see `systemNotifications`).
   * @param exitType the terminal notification of this handle (`SystemExited` or `ProcessExited`).
   * @param clock the timers for timeouts.
   */
  constructor(types: readonly NotificationType[], exitType: NotificationType, clock: Clock) {
    this.#exitType = exitType;
    this.#clock = clock;
    for (const t of types) this.#queues.set(t, []);
  }

  /** True once the terminal notification arrived. */
  get exited(): boolean {
    return this.#exit !== undefined;
  }

  /** The data document of the terminal notification, once it arrived. */
  get exitData(): string | undefined {
    return this.#exit?.data;
  }

  /** True once `close()` ran. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Feeds one notification in (the transport callback). Returns false when it was dropped as unknown or late. */
  deliver(n: Notification): boolean {
    if (this.#closed || !this.#queues.has(n.type)) return false;
    if (n.type === NotificationType.ServiceDisconnect) {
      if (this.#disconnected) return true;
      this.#disconnected = true;
      this.#settleWhere(() => true, () => ({ err: ErrUnexpectedProcessAbort, events: [] }));
      return true;
    }
    if (n.type === this.#exitType) {
      if (this.#exit) return true; // the first exit wins
      this.#exit = n;
      this.#settleWhere(() => true, (w) => (w.expected === this.#exitType ? outcomeOf(n) : { err: ErrUnexpectedContainerExit, events: [] }));
      return true;
    }
    if (this.#exit || this.#disconnected) return false; // late: waiters see the exit or the abort
    const waiter = this.#waiters.find((w) => w.expected === n.type);
    if (waiter) this.#settle(waiter, outcomeOf(n));
    else this.#queues.get(n.type)!.push(n);
    return true;
  }

  /**
   * Waits for `expected`. Never rejects: the outcome carries the error, as hcsshim returns it.
   * @param timeoutMs no timeout when undefined.
   */
  wait(expected: NotificationType, timeoutMs?: number): Promise<WaitOutcome> {
    if (this.#closed) return Promise.resolve({ err: ErrHandleClose, events: [] });
    const queue = this.#queues.get(expected);
    if (!queue) return Promise.resolve({ err: ErrInvalidNotificationType, events: [] });
    // A completion that arrived before the exit (or before we asked) still counts.
    const early = queue.shift();
    if (early) return Promise.resolve(outcomeOf(early));
    if (this.#disconnected) return Promise.resolve({ err: ErrUnexpectedProcessAbort, events: [] });
    if (this.#exit) {
      return Promise.resolve(expected === this.#exitType ? outcomeOf(this.#exit) : { err: ErrUnexpectedContainerExit, events: [] });
    }
    return new Promise((resolve) => {
      const waiter: Waiter = { expected, resolve };
      if (timeoutMs !== undefined) {
        waiter.timer = this.#clock.setTimeout(() => this.#settle(waiter, { err: ErrTimeout, events: [] }), timeoutMs);
      }
      this.#waiters.push(waiter);
    });
  }

  /** Fails every waiter with `ErrHandleClose` and refuses later waits and notifications. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#settleWhere(() => true, () => ({ err: ErrHandleClose, events: [] }));
  }

  #settle(w: Waiter, o: WaitOutcome): void {
    const i = this.#waiters.indexOf(w);
    if (i < 0) return;
    this.#waiters.splice(i, 1);
    if (w.timer !== undefined) this.#clock.clearTimeout(w.timer);
    w.resolve(o);
  }

  #settleWhere(pred: (w: Waiter) => boolean, outcome: (w: Waiter) => WaitOutcome): void {
    for (const w of this.#waiters.filter(pred)) this.#settle(w, outcome(w));
  }
}
