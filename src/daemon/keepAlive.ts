import fs from 'node:fs';
import { openFifoFd } from '../fifo/index.js';
import { bytesReadable } from '../sys/index.js';

const drainPollMs = 10;

/**
 * The daemon's own `O_RDWR` fd on each of a task's output FIFOs. While it is open, what the task
 * wrote stays in the pipe even when the task and every reader are gone (a pipe's data is freed with
 * its last fd), and a reader never sees EOF. {@link closeWhenDrained} closes it once the pipes are
 * empty: that close is the reader's EOF.
 */
export class OutputKeepAlive {
  #fds: number[];
  #closed = false;

  private constructor(fds: number[]) {
    this.#fds = fds;
  }

  /** Opens `paths` (FIFOs, created when missing); on failure nothing stays open. */
  static open(paths: readonly string[]): OutputKeepAlive {
    const fds: number[] = [];
    try {
      for (const p of paths) fds.push(openFifoFd(p, 'rw', { create: true }));
    } catch (err) {
      for (const fd of fds) fs.closeSync(fd);
      throw err;
    }
    return new OutputKeepAlive(fds);
  }

  /** Resolves once every pipe is empty and the fds are closed (or {@link close} was called). */
  closeWhenDrained(): Promise<void> {
    return new Promise((resolve) => {
      const poll = (): void => {
        if (this.#closed) return resolve();
        if (this.#fds.some((fd) => bytesReadable(fd) > 0)) {
          setTimeout(poll, drainPollMs);
          return;
        }
        this.close();
        resolve();
      };
      poll();
    });
  }

  /** Closes the fds now (what is still in the pipes goes once every other fd is gone). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fd of this.#fds.splice(0)) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
    }
  }
}
