import fs from 'node:fs';
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { openFifoFd, pipeSize } from '../../fifo/index.js';
import { getFileFlags, pipe2, setFileFlags, setPipeSize } from '../../sys/index.js';
import { closeQuietly } from './sink.js';

/**
 * The task's stdin from a FIFO. taskio reads the FIFO through an `O_RDWR` fd — it is its own
 * writer, so a client that detaches (closes its write end) never sends the task EOF — and copies
 * into a real pipe whose read end is the task's fd 0. EOF reaches the task only through
 * {@link closeStdin}, which ends the pipe (containerd's `CloseIO`).
 *
 * In terminal mode there is no pipe: the FIFO is read as {@link readable} and copied into the
 * console by the caller.
 */
export class InputFifo {
  readonly path: string;
  readonly #fifo: net.Socket;
  #childFd: number | null = null;
  #pipe: net.Socket | null = null;
  #copy: Promise<void> | null = null;
  readonly #stop = new AbortController();
  #closed: Promise<void> | null = null;

  constructor(path: string, terminal: boolean) {
    this.path = path;
    const fd = openFifoFd(path, 'rw', { create: true });
    this.#fifo = new net.Socket({ fd, readable: true, writable: false });
    this.#fifo.on('error', () => { /* destroyed by closeStdin/close */ });
    if (terminal) return;
    let p: { read: number; write: number };
    try {
      p = pipe2();
    } catch (err) {
      this.#fifo.destroy();
      throw err;
    }
    try {
      setPipeSize(p.write, pipeSize);
    } catch {
      // Above pipe-max-size for non-root: the default 64 KiB works the same, in smaller steps.
    }
    // The read end stays blocking for the task; only taskio's write end is non-blocking.
    setFileFlags(p.write, getFileFlags(p.write) | fs.constants.O_NONBLOCK);
    this.#childFd = p.read;
    this.#pipe = new net.Socket({ fd: p.write, readable: false, writable: true });
    this.#pipe.on('error', () => { /* EPIPE once the task is gone: nothing reads stdin any more */ });
    this.#copy = pipeline(this.#fifo, this.#pipe, { end: false, signal: this.#stop.signal }).catch(() => undefined);
  }

  /** The fd the runtime gives the task as fd 0 (non-terminal). */
  childFd(): number | 'ignore' {
    return this.#childFd ?? 'ignore';
  }

  /** The FIFO's data as a stream (terminal mode: the caller copies it into the console). */
  readable(): Readable {
    return this.#fifo;
  }

  /** Writes straight to the task's stdin, in order with the FIFO's copy (null in terminal mode). */
  writable(): Writable | null {
    return this.#pipe;
  }

  /** Closes this process's copy of the task's read end (the runtime holds its own). */
  closeChildFds(): void {
    closeQuietly(this.#childFd);
    this.#childFd = null;
  }

  /**
   * Stops reading the FIFO and ends the pipe: the task reads what was already copied, then EOF.
   * Resolves once the pipe end is closed. Idempotent.
   */
  closeStdin(): Promise<void> {
    this.#closed ??= (async () => {
      this.#stop.abort();
      this.#fifo.destroy();
      await this.#copy;
      const pipe = this.#pipe;
      if (pipe && !pipe.destroyed) {
        await new Promise<void>((resolve) => {
          pipe.once('close', () => resolve());
          pipe.end();
          // A task that never reads would hold end() back behind a full pipe forever.
          setTimeout(() => pipe.destroy(), 5000).unref();
        });
      }
    })();
    return this.#closed;
  }

  /** Releases everything at once. */
  async close(): Promise<void> {
    this.closeChildFds();
    this.#stop.abort();
    this.#fifo.destroy();
    this.#pipe?.destroy();
    await this.closeStdin();
  }
}
