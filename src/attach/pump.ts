import net from 'node:net';
import type { Writable } from 'node:stream';
import { acquireBuffer, releaseBuffer, sizeClasses } from './bufferPool.js';
import { borrowsSafely } from './nonRetaining.js';

/**
 * The copy engine: moves one FIFO's bytes into a user `Writable`. It reads with `net.Socket`'s
 * `onread` into pooled buffers (no allocation per chunk, which is what costs in Node), lends each
 * chunk to the sink when the sink is known not to keep it and copies it otherwise, and stops
 * reading while the sink pushes back, so a slow consumer slows the task and memory stays bounded.
 * The sink is never ended or destroyed: it belongs to the caller.
 */
export class Pump {
  /** Resolves when the source reached EOF and every chunk was written, or the pump was stopped. */
  readonly done: Promise<void>;
  /** The first error of the source or the sink, if any; the copy stopped there. */
  error: Error | null = null;
  private readonly socket: net.Socket;
  private readonly lend: boolean;
  private cls = 0;
  private current: Buffer;
  private pending = 0;
  private ended = false;
  private stopped = false;
  private finish!: () => void;
  private waitingDrain = false;

  /** Takes ownership of `fd` (an open, non-blocking FIFO read fd). */
  constructor(fd: number, private readonly sink: Writable) {
    this.done = new Promise((resolve) => { this.finish = resolve; });
    this.lend = borrowsSafely(sink);
    this.current = acquireBuffer(this.cls);
    // `onread` is a documented constructor option that @types/node only declares for connect().
    const options = {
      fd, readable: true, writable: false,
      onread: { buffer: () => this.nextBuffer(), callback: (n: number, buf: Uint8Array) => this.onRead(n, buf as Buffer) },
    };
    this.socket = new net.Socket(options as net.SocketConstructorOpts);
    this.socket.on('end', () => { this.ended = true; this.settle(); });
    this.socket.on('error', (err) => this.fail(err));
    sink.on('error', this.onSinkError);
  }

  private readonly onSinkError = (err: Error): void => this.fail(err);

  private nextBuffer(): Buffer {
    return this.current;
  }

  private onRead(n: number, buf: Buffer): boolean {
    if (this.stopped) return false;
    // Grow after a read that filled the buffer; shrink after one that used under a quarter.
    const cls = n === buf.length ? Math.min(this.cls + 1, sizeClasses.length - 1) : n < buf.length / 4 ? Math.max(this.cls - 1, 0) : this.cls;
    let chunk: Buffer;
    if (this.lend) {
      chunk = buf.subarray(0, n);
      this.current = acquireBuffer(cls);
    } else {
      chunk = Buffer.allocUnsafe(n);
      buf.copy(chunk, 0, 0, n);
      if (cls !== this.cls) { releaseBuffer(buf); this.current = acquireBuffer(cls); }
    }
    this.cls = cls;
    this.pending++;
    let sync = true;
    let ok: boolean;
    try {
      ok = this.sink.write(chunk, (err) => {
        if (this.lend) releaseBuffer(buf);
        this.pending--;
        if (err) this.fail(err);
        else if (!sync) this.settle();
      });
    } catch (err) {
      // A `_write` that throws escapes `write()` (Node catches only a callback's error), and from
      // here it would reach libuv's read callback and bring the whole process down. Treated as
      // Node treats a callback error: the sink is destroyed with it (its 'error' event) and this
      // copy stops; what is still in the pipe stays there for the next reader.
      this.pending--;
      this.fail(err as Error);
      this.sink.destroy(err as Error);
      return false;
    }
    sync = false;
    if (this.pending === 0) this.settle();
    if (!ok && !this.stopped) {
      this.waitingDrain = true;
      this.sink.once('drain', this.onDrain);
      return false;
    }
    return true;
  }

  private readonly onDrain = (): void => {
    this.waitingDrain = false;
    if (!this.stopped) this.socket.resume();
  };

  private settle(): void {
    if ((this.ended || this.stopped) && this.pending === 0) this.close();
  }

  private fail(err: Error): void {
    this.error ??= err;
    this.stop();
  }

  /** Stops copying at once: the FIFO fd is closed; chunks already handed to the sink stay there. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.socket.destroy();
    // A chunk the sink never acknowledges (it died) must not keep done() from resolving.
    this.close();
  }

  private close(): void {
    if (this.waitingDrain) this.sink.removeListener('drain', this.onDrain);
    this.sink.removeListener('error', this.onSinkError);
    if (!this.socket.destroyed) this.socket.destroy();
    this.finish();
  }
}
