import fs from 'node:fs';
import net from 'node:net';
import { Readable } from 'node:stream';

/**
 * The most one read takes from the pipe: all a reader ever holds that its consumer did not take
 * (containerd copies with 32 KiB buffers; the copy engine starts at 16 KiB too).
 */
const CHUNK = 16 * 1024;

/**
 * A task's output FIFO as a `Readable` that never loses what it took from the pipe.
 *
 * A plain `net.Socket` reads ahead into its own buffer and `destroy()` throws that buffer away: a
 * detach would drop up to 64 KiB that no reader will ever see again. This reader takes bytes from
 * the pipe only into its own stream buffer (the socket is read with `onread`, which hands each read
 * over synchronously and buffers nothing), and only when its consumer wants data and nothing is
 * buffered (`highWaterMark: 0`): it holds at most one read (16 KiB) its consumer has not taken. So
 * {@link detach} can stop the reads at once and still deliver every byte already taken: after a
 * detach the stream gives what it holds and then ends. What stays in the pipe is the next reader's.
 *
 * `'end'` without a detach is the task's EOF (the last writer closed the FIFO).
 */
export class OutputReader extends Readable {
  readonly #socket: net.Socket;
  readonly #buffer = Buffer.allocUnsafeSlow(CHUNK);
  #detached = false;

  /** Takes ownership of `fd`, an open, non-blocking FIFO read fd, even when it throws (the fd is closed then). */
  constructor(fd: number) {
    // No read-ahead: the pipe is read only when the consumer wants data and none is buffered.
    super({ highWaterMark: 0 });
    // `onread` is a documented constructor option that @types/node only declares for connect().
    const options = {
      fd, readable: true, writable: false,
      onread: { buffer: this.#buffer, callback: (n: number) => this.push(Buffer.from(this.#buffer.subarray(0, n))) },
    };
    try {
      this.#socket = new net.Socket(options as net.SocketConstructorOpts);
    } catch (err) {
      // A socket that could not open the fd does not own it: nobody would close it.
      fs.closeSync(fd);
      throw err;
    }
    this.#socket.on('end', () => { if (!this.#detached) this.#end(); });
    this.#socket.on('error', (err) => this.destroy(err));
  }

  /** True once {@link detach} ran. */
  get detached(): boolean {
    return this.#detached;
  }

  override _read(): void {
    // A full stream buffer made the socket stop (push() returned false); the consumer wants more.
    if (!this.#socket.destroyed) this.#socket.resume();
  }

  /**
   * Stops reading the FIFO now and closes the fd; the stream still gives every byte it took from
   * the pipe, then ends. Idempotent.
   */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#socket.destroy();
    this.#end();
  }

  #end(): void {
    if (this.readableEnded || this.destroyed) return;
    this.push(null);
    // Emits 'end' now when nothing is left to read, even without a consumer (as a socket does).
    this.read(0);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#detached = true;
    this.#socket.destroy();
    cb(err);
  }
}
