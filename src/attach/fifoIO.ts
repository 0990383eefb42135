import type { Config, FIFOSet, ReaderLock } from '../fifo/index.js';
import type { IO } from './streams.js';

/**
 * What every IO over a FIFO set shares: the set, its reader lock, an abort signal for pending opens,
 * and the cancel/wait/close contract — `cancel()` stops the streams and releases the lock, `close()`
 * also closes the set (removing what its creator made). Each is idempotent and never throws.
 */
export abstract class FifoIO implements IO {
  #abort: AbortController | null = null;
  #cancelled = false;
  protected lock: ReaderLock | null = null;
  protected waiting: Promise<void> = Promise.resolve();

  constructor(protected readonly set: FIFOSet) {}

  config(): Config {
    return { ...this.set.config };
  }

  /** Stops this IO's own streams; called by {@link cancel}, possibly more than once. */
  protected abstract stopStreams(): void;

  /**
   * Aborted by {@link cancel}, for pending opens. Made on first use: aborting costs an error object
   * with a stack, which an IO without pending opens (most of them) need not pay for.
   */
  protected get abort(): AbortController {
    if (this.#abort === null) {
      this.#abort = new AbortController();
      if (this.#cancelled) this.#abort.abort();
    }
    return this.#abort;
  }

  cancel(): void {
    this.#cancelled = true;
    this.#abort?.abort();
    this.stopStreams();
    this.lock?.release();
  }

  wait(): Promise<void> {
    return this.waiting;
  }

  async close(): Promise<void> {
    this.cancel();
    await this.set.close();
  }
}
