import fs from 'node:fs';
import net from 'node:net';
import type { Writable } from 'node:stream';
import { TaskioError } from '../../errors.js';
import { openFifoFd } from '../../fifo/index.js';
import { bytesReadable, getFileFlags, isCode, setFileFlags } from '../../sys/index.js';
import { pollUntil } from './drain.js';
import { closeQuietly, type OutputSink } from './sink.js';

/**
 * An output FIFO on the task side. The task writes into the FIFO directly (no copy in Node).
 *
 * Kept open (a task's, cio's keep-open): the task's fd is an `O_RDWR` open of its own, so it counts
 * as a reader and never gets `EPIPE` while no client reads — output waits in the (1 MiB) pipe and
 * the task blocks when it is full, until a client (re)attaches. taskio keeps one more `O_RDWR` fd,
 * the keep-alive: when the task exits with output nobody has read yet, that output stays in the
 * pipe (a pipe's data is freed with its last fd) until a client reads it; {@link drain} closes the
 * keep-alive once the pipe is empty, which is the client's EOF.
 *
 * Not kept open (an exec's, whose output has one client, which opened its reader before asking for
 * the process): every fd here is write-only, so nothing on this side reads. Once the client's reader
 * is gone — it detached, its stdout broke, it was SIGKILLed — the process gets `EPIPE`/`SIGPIPE` at
 * its next write and ends, as docker's exec'd process does when its client left, instead of blocking
 * for ever on a full pipe nobody reads. Only when no reader is there at the start (a client that
 * opens it later) are the opens `O_RDWR` as a task's, so what is written first waits for it.
 */
export class OutputFifo implements OutputSink {
  readonly path: string;
  readonly #keepOpen: boolean;
  /** Whether the fds here read too (`O_RDWR`): kept open, or no reader was there at the start. */
  #reads: boolean;
  #keepAlive: number | null;
  #socket: net.Socket | null = null;
  readonly #childFds: number[] = [];
  readonly #closing = new AbortController();
  #drained: Promise<void> | null = null;

  /**
   * Opens the keep-alive; throws `ERR_NOT_FIFO` / `ENOENT` when `path` is not a FIFO.
   * @param opts.keepOpen - false for an exec's output: write-only opens (see the class). Default true.
   */
  constructor(path: string, opts: { keepOpen?: boolean } = {}) {
    this.path = path;
    this.#keepOpen = opts.keepOpen !== false;
    this.#reads = this.#keepOpen;
    // Made here when no client made it yet (containerd's shim opens with O_CREAT too).
    this.#keepAlive = this.#open(true);
  }

  /** A file description of its own on the FIFO: `O_RDWR`, or write-only while a reader is there (not kept open). */
  #open(create = false): number {
    if (this.#reads) return openFifoFd(this.path, 'rw', { create });
    try {
      return openFifoFd(this.path, 'w', { create });
    } catch (err) {
      if (!isCode(err, 'ENXIO')) throw err;
      this.#reads = true; // no reader yet: what is written waits for one
      return openFifoFd(this.path, 'rw');
    }
  }

  childFd(): number {
    // Its own file description: libuv makes a child's fds 0–2 blocking, which must never touch
    // the keep-alive's (non-blocking) description.
    const fd = this.#open();
    this.#childFds.push(fd); // closed with the others, whatever happens next
    setFileFlags(fd, getFileFlags(fd) & ~fs.constants.O_NONBLOCK);
    return fd;
  }

  writable(): Writable {
    if (this.#keepAlive === null) throw new TaskioError('ERR_STDIO_CLOSED', `output FIFO ${JSON.stringify(this.path)} is closed`);
    // Written through the keep-alive: kept open, being a reader too, it never gets EPIPE; not kept
    // open, EPIPE once the client's reader is gone ends the copy (the output has nowhere to go).
    if (this.#socket === null) {
      this.#socket = new net.Socket({ fd: this.#keepAlive, readable: false, writable: true });
      this.#socket.on('error', () => { /* the fd was closed under a pending write, or the reader left: output dropped */ });
    }
    return this.#socket;
  }

  closeChildFds(): void {
    for (const fd of this.#childFds.splice(0)) closeQuietly(fd);
    // Write-only and not copied into (no terminal): the process's own fds are the only writers, so
    // the client's EOF comes as the process ends. (An O_RDWR one holds the output for a late reader.)
    if (!this.#reads && this.#socket === null) this.#closeKeepAlive();
  }

  drain(): Promise<void> {
    this.#drained ??= (async () => {
      const fd = this.#keepAlive;
      if (fd === null) return;
      // What is in the pipe survives the keep-alive's close only while a reader holds it: an
      // O_RDWR keep-alive (the reader) waits for the pipe to be empty; a write-only one only for
      // its own writes, since the client's reader keeps the rest (and without one it is lost anyway).
      const idle = (): boolean => this.#socket?.destroyed === true || (this.#socket?.writableLength ?? 0) === 0;
      await pollUntil(() => idle() && (!this.#reads || bytesReadable(fd) === 0), this.#closing.signal);
      this.#closeKeepAlive();
    })();
    return this.#drained;
  }

  async close(): Promise<void> {
    this.#closing.abort();
    this.closeChildFds();
    this.#closeKeepAlive();
  }

  #closeKeepAlive(): void {
    const fd = this.#keepAlive;
    this.#keepAlive = null;
    if (this.#socket) this.#socket.destroy(); // closes fd
    else closeQuietly(fd);
  }
}
