import fs from 'node:fs';
import { abortError } from '../errors.js';

const pollMs = 1000;

/**
 * Waits for a change in a log's directory: inotify through `fs.watch`, with a slow poll behind it
 * (a watch can miss events or fail later, e.g. when the directory is removed). A change that came
 * while nobody waited is kept, so the next wait returns at once.
 */
export class ChangeWaiter {
  #dirty = false;
  #wake: (() => void) | null = null;
  readonly #watcher: fs.FSWatcher;

  /** Watches `dir` for entries whose names start with `base` (`name`, `name.1`, …). */
  constructor(dir: string, base: string) {
    // Not persistent: a consumer that stops pulling must not keep the process alive; while a
    // wait is pending its poll timer does.
    this.#watcher = fs.watch(dir, { persistent: false }, (_ev, name) => {
      if (name === null || name.startsWith(base)) this.#fire();
    });
    this.#watcher.on('error', () => undefined);
  }

  #fire(): void {
    this.#dirty = true;
    this.#wake?.();
  }

  /** Resolves on the next change (or at once after an unseen one), or after the poll interval. */
  async wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortError(signal);
    if (!this.#dirty) {
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      try {
        await new Promise<void>((resolve, reject) => {
          this.#wake = resolve;
          timer = setTimeout(resolve, pollMs);
          onAbort = () => reject(abortError(signal));
          signal?.addEventListener('abort', onAbort, { once: true });
        });
      } finally {
        this.#wake = null;
        clearTimeout(timer);
        if (onAbort) signal?.removeEventListener('abort', onAbort);
      }
    }
    this.#dirty = false;
  }

  /** Stops watching. Idempotent. */
  close(): void {
    this.#watcher.close();
  }
}
