import fs from 'node:fs';
import path from 'node:path';
import { abortError } from '../errors.js';

const pollMs = 1000;

/**
 * The directory nearest to `dir` that exists: `dir` itself, else its closest existing ancestor.
 * Only a missing component (`ENOENT`) or a non-directory on the way (`ENOTDIR`, or a file where a
 * directory should be) moves up; any other failure (`EACCES` …) is thrown, as a watch would.
 */
function nearestDir(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      if (fs.statSync(d).isDirectory()) return d;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
    }
    if (d === path.dirname(d)) return d;
  }
}

/**
 * Waits for a change in a log's directory: inotify through `fs.watch`, with a slow poll behind it
 * (a watch can miss events or fail later, e.g. when the directory is removed). A change that came
 * while nobody waited is kept, so the next wait returns at once.
 *
 * A directory that does not exist yet is waited for, as `tail -F` waits for a missing file's
 * directory: its nearest existing ancestor is watched for the next component of the path, and the
 * watch moves down as the path is made, to the directory itself (then a change is reported: its
 * file may be there already). Watching an ancestor opens nothing and reads no entry of it.
 */
export class ChangeWaiter {
  #dirty = false;
  #wake: (() => void) | null = null;
  readonly #dir: string;
  readonly #base: string;
  /** `#dir`, or while that is missing its nearest existing ancestor. */
  #watched: string;
  #watcher: fs.FSWatcher;
  #closed = false;

  /** Watches `dir` for entries whose names start with `base` (`name`, `name.1`, …). */
  constructor(dir: string, base: string) {
    this.#dir = dir;
    this.#base = base;
    this.#watched = nearestDir(dir);
    this.#watcher = this.#watch(this.#watched);
    this.#moveDown(); // a component made between the look and the watch
  }

  /** Not persistent: a consumer that stops pulling must not keep the process alive; while a wait is pending its poll timer does. */
  #watch(dir: string): fs.FSWatcher {
    const watcher = fs.watch(dir, { persistent: false }, (_ev, name) => {
      if (dir === this.#dir) {
        if (name === null || name.startsWith(this.#base)) this.#fire();
      } else if (name === null || name === path.relative(dir, this.#dir).split(path.sep)[0]) {
        this.#moveDown();
      }
    });
    watcher.on('error', () => undefined);
    return watcher;
  }

  /**
   * While an ancestor is watched: watches the nearest existing directory instead, until the look
   * after a new watch finds no deeper one (so a component made meanwhile is not missed). A watch
   * that cannot be made leaves the old one; the poll looks again.
   */
  #moveDown(): void {
    while (!this.#closed && this.#watched !== this.#dir) {
      let dir: string, watcher: fs.FSWatcher;
      try {
        dir = nearestDir(this.#dir);
        if (dir === this.#watched) return;
        watcher = this.#watch(dir);
      } catch {
        return;
      }
      this.#watcher.close();
      this.#watcher = watcher;
      this.#watched = dir;
      if (dir === this.#dir) this.#fire();
    }
  }

  #fire(): void {
    this.#dirty = true;
    this.#wake?.();
  }

  /** Ends the pending wait now (or the next one at once), as a change does. */
  wake(): void {
    this.#fire();
  }

  /** Resolves on the next change (or at once after an unseen one), or after the poll interval. */
  async wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortError(signal);
    if (this.#watched !== this.#dir) this.#moveDown(); // the poll's look for a missed event
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
    this.#closed = true;
    this.#watcher.close();
  }
}
