import type { Config, FIFOSet } from '../fifo/index.js';
import type { IO } from './streams.js';

/** An IO that does nothing itself; `close()` runs `onClose` once. */
export class StaticIO implements IO {
  #closing: Promise<void> | null = null;
  readonly #config: Config;
  readonly #onClose: (() => Promise<void>) | undefined;

  constructor(config: Config, onClose?: () => Promise<void>) {
    this.#config = config;
    this.#onClose = onClose;
  }

  config(): Config {
    return { ...this.#config };
  }

  cancel(): void {}

  wait(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#closing ??= this.#onClose ? this.#onClose() : Promise.resolve();
    return this.#closing;
  }
}

/** An IO with every path blank: the task's stdio goes to `/dev/null` (containerd's `NullIO`). */
export async function nullIO(_id: string): Promise<IO> {
  return new StaticIO({ terminal: false, stdin: '', stdout: '', stderr: '' });
}

/**
 * Wraps an existing FIFO set as an IO without copying anything: `close()` closes the set
 * (containerd's `cio.Load`, used to clean up after a restart).
 */
export async function load(set: FIFOSet): Promise<IO> {
  return new StaticIO(set.config, () => set.close());
}
