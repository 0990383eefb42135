import type { Config, FIFOSet, ReaderLock } from '../fifo/index.js';
import type { IO } from './streams.js';

/**
 * What every IO over a FIFO set shares: the set, its reader lock, an abort signal for pending opens,
 * and the cancel/wait/close contract — `cancel()` stops the owner's streams and releases the lock,
 * `close()` also closes the set (removing what its creator made). Each is idempotent and never
 * throws. `PipeIO` and `DirectIO` hold one (rather than extend it), so the published `DirectIO`
 * names no internal type.
 */
export class FifoIO implements IO {
  /** The set's reader lock, once the owner took it. */
  lock: ReaderLock | null = null;
  /** What `wait()` returns; the owner sets it once its streams exist. */
  waiting: Promise<void> = Promise.resolve();
  readonly #set: FIFOSet;
  readonly #stopStreams: () => void;
  #abort: AbortController | null = null;
  #cancelled = false;

  /** `stopStreams` stops the owner's own streams; `cancel()` calls it, possibly more than once. */
  constructor(set: FIFOSet, stopStreams: () => void) {
    this.#set = set;
    this.#stopStreams = stopStreams;
  }

  config(): Config {
    return { ...this.#set.config };
  }

  /**
   * Aborted by {@link cancel}, for pending opens (a stdin writer waiting for the task side). Made on
   * first use: aborting costs an error object with a stack, which an IO without pending opens (most
   * of them) need not pay for.
   */
  get abort(): AbortController {
    if (this.#abort === null) {
      this.#abort = new AbortController();
      if (this.#cancelled) this.#abort.abort();
    }
    return this.#abort;
  }

  cancel(): void {
    this.#cancelled = true;
    this.#abort?.abort();
    this.#stopStreams();
    this.lock?.release();
  }

  wait(): Promise<void> {
    return this.waiting;
  }

  async close(): Promise<void> {
    this.cancel();
    await this.#set.close();
  }
}
