import { abortError } from '../errors.js';
import type { ExitRecord } from './records.js';

/** How many exits of auto-removed tasks are kept for a late `wait`. */
const keptExits = 256;

/**
 * Task removals, for `wait` with docker's `removed` condition: who waits for a task to go, and the
 * exits of tasks the daemon removed by itself (`autoRemove`), kept (the last {@link keptExits}) so
 * that a wait that comes after the removal — `run --rm` asks once the task's output ended, and a
 * short task may be gone by then — still gets the code, as containerd's shim keeps an exit for the
 * `Wait` that follows a `Delete`.
 */
export class Removals {
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #exits = new Map<string, ExitRecord>();
  readonly #asked = new Map<string, () => void>();

  /** Resolves once a client asked for task `id`'s removal ({@link ask}). */
  asked(id: string): Promise<void> {
    return new Promise((resolve) => this.#asked.set(id, resolve));
  }

  /** A client waits for task `id`'s removal (`wait?condition=removed`). */
  ask(id: string): void {
    this.#asked.get(id)?.();
    this.#asked.delete(id);
  }

  /**
   * Resolves once task `id` was removed ({@link removed}); rejects with an `AbortError` when
   * `signal` aborts first. Register it before anything can remove the task.
   */
  whenRemoved(id: string, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      const waiters = this.#waiters.get(id) ?? new Set();
      this.#waiters.set(id, waiters);
      const onAbort = (): void => {
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiters.get(id) === waiters) this.#waiters.delete(id);
        reject(abortError(signal));
      };
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      waiters.add(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Task `id` is gone; `exit` is kept for a later wait when the daemon removed it by itself. */
  removed(id: string, exit: ExitRecord | null): void {
    if (exit !== null) {
      this.#exits.delete(id);
      this.#exits.set(id, exit);
      if (this.#exits.size > keptExits) this.#exits.delete(this.#exits.keys().next().value!);
    }
    this.#asked.delete(id);
    const waiters = this.#waiters.get(id);
    this.#waiters.delete(id);
    for (const done of waiters ?? []) done();
  }

  /** The exit of auto-removed task `id`, when it is still kept. */
  exitOf(id: string): ExitRecord | undefined {
    return this.#exits.get(id);
  }

  /** A new task took id `id`: an older task's kept exit is not its. */
  forget(id: string): void {
    this.#exits.delete(id);
  }
}
