import fs from 'node:fs';
import { pidfdOpen, pollReadable } from '../sys/index.js';
import { killPidfd, openPidfd } from './procStat.js';

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
   * the expected process just before (start time), since the pidfd is opened here. `unwatch`
   * aborted: the pidfd is closed and the promise never resolves (a task whose adoption failed
   * after its watch began is not this daemon's to watch).
   */
  watch(pid: number, unwatch?: AbortSignal): Promise<void> {
    if (unwatch?.aborted) return new Promise(() => undefined);
    let fd: number;
    try {
      fd = pidfdOpen(pid);
    } catch {
      return Promise.resolve(); // ESRCH: gone
    }
    return this.#watchFd(fd, pid, unwatch);
  }

  /**
   * SIGKILLs the process `pid` that started at `startTime` through a pidfd — never a process that
   * took its pid since — and resolves true once it exited; false at once when it was gone already.
   */
  async kill(pid: number, startTime: string): Promise<boolean> {
    const fd = openPidfd(pid, startTime);
    if (fd === null) return false;
    // The pidfd that was checked is the one watched: no second open by pid.
    const gone = this.#watchFd(fd, pid);
    try {
      killPidfd(fd);
    } catch (err) {
      this.#release(fd); // not killed: nothing to wait for
      throw err;
    }
    await gone;
    return true;
  }

  /** Resolves when the process of pidfd `fd` (taken over here) exits; see {@link watch}. */
  #watchFd(fd: number, pid: number, unwatch?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const w = { pid, resolve };
      this.#watched.set(fd, w);
      this.#timer ??= setInterval(() => this.#poll(), pollMs);
      // Only this watch's fd: once it resolved, the number may be another watch's.
      unwatch?.addEventListener('abort', () => { if (this.#watched.get(fd) === w) this.#release(fd); }, { once: true });
    });
  }

  #poll(): void {
    const fds = [...this.#watched.keys()];
    const ready = pollReadable(fds);
    fds.forEach((fd, i) => {
      if (!ready[i]) return;
      const w = this.#watched.get(fd)!;
      this.#release(fd);
      w.resolve();
    });
  }

  /** Closes watched pidfd `fd`; the timer stops with the last one. */
  #release(fd: number): void {
    this.#watched.delete(fd);
    fs.closeSync(fd);
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
