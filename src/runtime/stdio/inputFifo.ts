import fs from 'node:fs';
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { openFifoFd, pipeSize } from '../../fifo/index.js';
import { getFileFlags, pipe2, setFileFlags, setPipeSize } from '../../sys/index.js';
import { closeQuietly } from './sink.js';

/**
 * The task's stdin from a FIFO, as containerd's shim has it: taskio reads the FIFO through an
 * `O_RDONLY` fd and holds a keep-alive writer (`O_WRONLY`) of its own, so a client that detaches
 * (closes its write end) never sends the task EOF. The reader copies into a real pipe whose read end
 * is the task's fd 0.
 *
 * {@link closeStdin} is containerd's `CloseIO`: it closes only the keep-alive writer. The reader then
 * drains the FIFO — what a client already wrote, and what a client still attached writes until it
 * closes its end — to EOF, and only then ends the pipe: the task reads every byte, then EOF.
 *
 * In terminal mode there is no pipe: the FIFO is read as {@link readable} and copied into the
 * console by the caller (a terminal has no EOF to send; its copy just ends).
 *
 * {@link InputFifo.adopt} feeds the pipe of a task that runs already (its write end taken back from
 * a process that held it while no task host ran, as containerd's shim holds it).
 */
export class InputFifo {
  readonly path: string;
  readonly #fifo: net.Socket;
  #keepAlive: number | null = null;
  #childFd: number | null = null;
  #pipe: net.Socket | null = null;
  #pipeWrite: number | null = null;
  readonly #stop = new AbortController();

  /** @param taskWrite - the write end of the task's stdin pipe, made elsewhere ({@link InputFifo.adopt}); default: a new pipe. */
  constructor(path: string, terminal: boolean, taskWrite?: number) {
    this.path = path;
    const readFd = openFifoFd(path, 'r', { create: true });
    const made = [readFd];
    // The task's pipe: its read end (null: the task has it already, adopted) and taskio's write end.
    let taskPipe: { read: number | null; write: number } | null = null;
    try {
      // Never ENXIO: our own reader is there.
      this.#keepAlive = openFifoFd(path, 'w');
      made.push(this.#keepAlive);
      if (taskWrite === undefined && !terminal) {
        const fresh = pipe2();
        taskPipe = fresh;
        made.push(fresh.read, fresh.write);
        try {
          setPipeSize(taskPipe.write, pipeSize);
        } catch {
          // Above pipe-max-size for non-root: the default 64 KiB works the same, in smaller steps.
        }
      } else if (taskWrite !== undefined) {
        taskPipe = { read: null, write: taskWrite };
      }
      // The read end stays blocking for the task; only taskio's write end is non-blocking.
      if (taskPipe !== null) setFileFlags(taskPipe.write, getFileFlags(taskPipe.write) | fs.constants.O_NONBLOCK);
    } catch (err) {
      for (const fd of made) closeQuietly(fd);
      throw err;
    }
    this.#fifo = new net.Socket({ fd: readFd, readable: true, writable: false });
    this.#fifo.on('error', () => { /* destroyed by close() */ });
    if (taskPipe === null) return;
    this.#childFd = taskPipe.read;
    this.#pipeWrite = taskPipe.write;
    const pipe = new net.Socket({ fd: taskPipe.write, readable: false, writable: true });
    this.#pipe = pipe;
    pipe.on('error', () => { /* EPIPE once the task is gone: nothing reads stdin any more */ });
    // EOF of the FIFO (every writer closed, the keep-alive included) is the end of the task's stdin:
    // end() sends it after what is still queued for the pipe.
    pipeline(this.#fifo, pipe, { end: false, signal: this.#stop.signal })
      .then(() => { if (!pipe.destroyed) pipe.end(); }, () => undefined);
  }

  /** The fd the runtime gives the task as fd 0 (non-terminal). */
  childFd(): number | 'ignore' {
    return this.#childFd ?? 'ignore';
  }

  /**
   * Feeds the stdin pipe of a task that runs already from the FIFO at `path`: `taskWrite` is its
   * write end (taken back from the process that kept it). Takes `taskWrite`: closed on failure.
   */
  static adopt(path: string, taskWrite: number): InputFifo {
    try {
      return new InputFifo(path, false, taskWrite);
    } catch (err) {
      closeQuietly(taskWrite);
      throw err;
    }
  }

  /**
   * The write end of the task's stdin pipe (non-terminal), this object's own: a process spawned with
   * it (the daemon's input keeper) keeps the task's stdin open should this process die.
   */
  pipeFd(): number | null {
    return this.#pipe === null || this.#pipe.destroyed ? null : this.#pipeWrite;
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
   * Closes the keep-alive writer (containerd's `CloseIO`): once every client writer has closed too
   * and the FIFO is drained, the task reads EOF. Returns at once, without waiting for that (a client
   * may keep writing); idempotent.
   */
  async closeStdin(): Promise<void> {
    this.#closeKeepAlive();
  }

  /** Releases everything at once; what was not copied yet is dropped. */
  async close(): Promise<void> {
    this.closeChildFds();
    this.#stop.abort();
    this.#closeKeepAlive();
    this.#fifo.destroy();
    this.#pipe?.destroy();
  }

  #closeKeepAlive(): void {
    closeQuietly(this.#keepAlive);
    this.#keepAlive = null;
  }
}
