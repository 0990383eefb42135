import fs from 'node:fs';
import { openFifoFd, type Config } from '../fifo/index.js';
import { pollUntil } from '../runtime/stdio/drain.js';
import { bytesReadable } from '../sys/index.js';

/** The output FIFOs of a FIFO set (stdout, and stderr unless it is a terminal). */
export function outputPaths(config: Config): string[] {
  return [config.stdout, config.terminal ? '' : config.stderr].filter((p) => p !== '');
}

/**
 * The daemon's own `O_RDWR` fd on each of a task's output FIFOs. While it is open, what the task
 * wrote stays in the pipe even when the task and every reader are gone (a pipe's data is freed with
 * its last fd), and a reader never sees EOF. {@link closeWhenDrained} closes it once the pipes are
 * empty: that close is the reader's EOF.
 */
export class OutputKeepAlive {
  #fds: number[];
  #closed = false;
  readonly #stop = new AbortController();

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
  async closeWhenDrained(): Promise<void> {
    // A backoff from 2 ms, not a fixed period: the last output of a task that just exited is read
    // within a millisecond or two, and the wait for it is on the path of every `wait` and `rm`.
    await pollUntil(() => this.#fds.every((fd) => bytesReadable(fd) === 0), this.#stop.signal);
    this.close();
  }

  /** Closes the fds now (what is still in the pipes goes once every other fd is gone). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop.abort();
    for (const fd of this.#fds.splice(0)) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
    }
  }
}
