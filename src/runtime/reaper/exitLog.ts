import { TaskioError } from '../../errors.js';
import type { Exit } from './exit.js';

/**
 * The recent exits a monitor published, numbered in order, in a ring of fixed size: the one place
 * exits are kept, shared by every subscription (each remembers only where it started and how far
 * its iterator read), so a subscription costs no memory per exit, however long it lives and
 * however many exits it never asks for.
 */
export class ExitLog {
  readonly #ring: Array<Exit | undefined>;
  #next = 0;

  /** Keeps the last `capacity` exits. */
  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new TaskioError('ERR_OUT_OF_RANGE', `the number of exits to retain must be an integer ≥ 1, got ${String(capacity)}`);
    }
    this.#ring = new Array<Exit | undefined>(capacity);
  }

  /** The number the next exit gets. */
  get next(): number {
    return this.#next;
  }

  /** The number of the oldest exit still held. */
  get first(): number {
    return Math.max(0, this.#next - this.#ring.length);
  }

  /** Adds an exit, dropping the oldest when full; returns its number. */
  append(exit: Exit): number {
    this.#ring[this.#next % this.#ring.length] = exit;
    return this.#next++;
  }

  /** The exit numbered `seq`, or undefined when it was dropped or has not come yet. */
  at(seq: number): Exit | undefined {
    return seq >= this.first && seq < this.#next ? this.#ring[seq % this.#ring.length] : undefined;
  }

  /**
   * The newest exit of `pid` numbered `from` or later. Only meaningful for a pid that names no live
   * process now: a pid is reused only after the exit of its previous owner, so the newest exit of a
   * gone pid is that of the last process that had it.
   */
  newest(pid: number, from: number): Exit | undefined {
    for (let seq = this.#next - 1; seq >= Math.max(from, this.first); seq--) {
      const e = this.#ring[seq % this.#ring.length]!;
      if (e.pid === pid) return e;
    }
    return undefined;
  }
}
