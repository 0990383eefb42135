import fs from 'node:fs';
import { pidfdOpen, pollReadable } from '../sys/index.js';

const pollMs = 100;

/**
 * Watches processes that are not this daemon's children — tasks adopted from an earlier daemon,
 * re-parented to init when it died — through pidfds: a pidfd turns readable when its process
 * exits, and it names that process even if the pid is reused. Node cannot wait on a pidfd (libuv
 * has no handle for it), so one timer polls every watched pidfd in a single `ppoll` call.
 * Only the exit is seen: its status goes to the process's parent, never to the daemon.
 */
export class PidWatch {
  readonly #watched = new Map<number, { pid: number; resolve: () => void }>();
  #timer: NodeJS.Timeout | null = null;

  /**
   * Resolves when `pid` exits (at once if it is gone already). The pid must have been checked to be
   * the expected process just before (start time), since the pidfd is opened here.
   */
  watch(pid: number): Promise<void> {
    let fd: number;
    try {
      fd = pidfdOpen(pid);
    } catch {
      return Promise.resolve(); // ESRCH: gone
    }
    return new Promise<void>((resolve) => {
      this.#watched.set(fd, { pid, resolve });
      this.#timer ??= setInterval(() => this.#poll(), pollMs);
    });
  }

  #poll(): void {
    const fds = [...this.#watched.keys()];
    const ready = pollReadable(fds);
    fds.forEach((fd, i) => {
      if (!ready[i]) return;
      const w = this.#watched.get(fd)!;
      this.#watched.delete(fd);
      fs.closeSync(fd);
      w.resolve();
    });
    if (this.#watched.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  /** Stops watching everything (daemon shutdown): the pending promises never resolve. */
  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    for (const fd of this.#watched.keys()) fs.closeSync(fd);
    this.#watched.clear();
  }
}
