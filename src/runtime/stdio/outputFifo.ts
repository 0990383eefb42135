import fs from 'node:fs';
import net from 'node:net';
import type { Writable } from 'node:stream';
import { TaskioError } from '../../errors.js';
import { openFifoFd } from '../../fifo/index.js';
import { bytesReadable, getFileFlags, setFileFlags } from '../../sys/index.js';
import { pollUntil } from './drain.js';
import { closeQuietly, type OutputSink } from './sink.js';

/**
 * An output FIFO on the task side. The task writes into the FIFO directly (no copy in Node): its
 * fd is an `O_RDWR` open of its own, so it counts as a reader and never gets `EPIPE` while no
 * client reads — output waits in the (1 MiB) pipe and the task blocks when it is full.
 *
 * taskio keeps one more `O_RDWR` fd, the keep-alive: when the task exits with output nobody has
 * read yet, that output stays in the pipe (a pipe's data is freed with its last fd) until a client
 * reads it; {@link drain} closes the keep-alive once the pipe is empty, which is the client's EOF.
 */
export class OutputFifo implements OutputSink {
  readonly path: string;
  #keepAlive: number | null;
  #socket: net.Socket | null = null;
  readonly #childFds: number[] = [];
  readonly #closing = new AbortController();
  #drained: Promise<void> | null = null;

  /** Opens the keep-alive; throws `ERR_NOT_FIFO` / `ENOENT` when `path` is not a FIFO. */
  constructor(path: string) {
    this.path = path;
    // Made here when no client made it yet (containerd's shim opens with O_CREAT too).
    this.#keepAlive = openFifoFd(path, 'rw', { create: true });
  }

  childFd(): number {
    // Its own file description: libuv makes a child's fds 0–2 blocking, which must never touch
    // the keep-alive's (non-blocking) description.
    const fd = openFifoFd(this.path, 'rw');
    this.#childFds.push(fd); // closed with the others, whatever happens next
    setFileFlags(fd, getFileFlags(fd) & ~fs.constants.O_NONBLOCK);
    return fd;
  }

  writable(): Writable {
    if (this.#keepAlive === null) throw new TaskioError('ERR_STDIO_CLOSED', `output FIFO ${JSON.stringify(this.path)} is closed`);
    // Written through the keep-alive: being a reader too, it never gets EPIPE.
    if (this.#socket === null) {
      this.#socket = new net.Socket({ fd: this.#keepAlive, readable: false, writable: true });
      this.#socket.on('error', () => { /* the fd was closed under a pending write: output dropped on close */ });
    }
    return this.#socket;
  }

  closeChildFds(): void {
    for (const fd of this.#childFds.splice(0)) closeQuietly(fd);
  }

  drain(): Promise<void> {
    this.#drained ??= (async () => {
      const fd = this.#keepAlive;
      if (fd === null) return;
      await pollUntil(() => (this.#socket?.writableLength ?? 0) === 0 && bytesReadable(fd) === 0, this.#closing.signal);
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
