import net from 'node:net';
import type { Writable } from 'node:stream';
import { SlabCutter, acquireBuffer, nextClass, releaseBuffer } from './bufferPool.js';
import { borrowsSafely } from './nonRetaining.js';

/**
 * The copy engine: moves one FIFO's bytes into a user `Writable` without copying them. It reads
 * with `net.Socket`'s `onread` straight into the memory it hands the sink: for a sink known not to
 * keep chunks, pooled buffers lent until the write callback (no allocation per chunk, which is
 * what costs in Node); for any other sink, consecutive pieces of a slab that is never written
 * again ({@link SlabCutter}). It stops reading while the sink pushes back, so a slow consumer
 * slows the task and memory stays bounded.
 * The sink is never ended or destroyed: it belongs to the caller.
 */
export class Pump {
  /** Resolves when the source reached EOF and every chunk was written, or the pump was stopped. */
  readonly done: Promise<void>;
  /** The first error of the source or the sink, if any; the copy stopped there. */
  error: Error | null = null;
  readonly #sink: Writable;
  readonly #socket: net.Socket;
  /** Set for a sink that may keep chunks; else buffers are lent from the pool. */
  readonly #slabs: SlabCutter | null;
  #cls = 0;
  #current: Buffer | null = null;
  #pending = 0;
  #ended = false;
  #stopped = false;
  #closed = false;
  #finish!: () => void;
  #waitingDrain = false;

  /** Takes ownership of `fd` (an open, non-blocking FIFO read fd). */
  constructor(fd: number, sink: Writable) {
    this.#sink = sink;
    this.done = new Promise((resolve) => { this.#finish = resolve; });
    this.#slabs = borrowsSafely(sink) ? null : new SlabCutter();
    // `onread` is a documented constructor option that @types/node only declares for connect().
    const options = {
      fd, readable: true, writable: false,
      onread: { buffer: () => this.#nextBuffer(), callback: (n: number, buf: Uint8Array) => this.#onRead(n, buf as Buffer) },
    };
    this.#socket = new net.Socket(options as net.SocketConstructorOpts);
    this.#socket.on('end', () => { this.#ended = true; this.#settle(); });
    this.#socket.on('error', (err) => this.#fail(err));
    sink.on('error', this.#onSinkError);
  }

  readonly #onSinkError = (err: Error): void => this.#fail(err);

  /** Node asks for the next read's buffer right after each read (and once at the start). */
  #nextBuffer(): Buffer {
    if (this.#slabs) return this.#slabs.next();
    this.#current ??= acquireBuffer(this.#cls);
    return this.#current;
  }

  #onRead(n: number, buf: Buffer): boolean {
    if (this.#stopped) return false;
    let chunk: Buffer;
    if (this.#slabs) {
      chunk = this.#slabs.take(n, buf);
    } else {
      chunk = buf.subarray(0, n);
      this.#cls = nextClass(this.#cls, n, buf.length);
      this.#current = null; // lent until the sink's callback; the next read takes another
    }
    this.#pending++;
    let sync = true;
    let ok: boolean;
    try {
      ok = this.#sink.write(chunk, (err) => {
        if (!this.#slabs) releaseBuffer(buf);
        this.#pending--;
        if (err) this.#fail(err);
        else if (!sync) this.#settle();
      });
    } catch (err) {
      // A `_write` that throws escapes `write()` (Node catches only a callback's error), and from
      // here it would reach libuv's read callback and bring the whole process down. Treated as
      // Node treats a callback error: the sink is destroyed with it (its 'error' event) and this
      // copy stops; what is still in the pipe stays there for the next reader. A lent buffer is
      // not given back: the sink may hold it.
      this.#pending--;
      this.#fail(err as Error);
      this.#sink.destroy(err as Error);
      return false;
    }
    sync = false;
    if (this.#pending === 0) this.#settle();
    if (!ok && !this.#stopped) {
      this.#waitingDrain = true;
      this.#sink.once('drain', this.#onDrain);
      return false;
    }
    return true;
  }

  readonly #onDrain = (): void => {
    this.#waitingDrain = false;
    if (!this.#stopped) this.#socket.resume();
  };

  #settle(): void {
    if ((this.#ended || this.#stopped) && this.#pending === 0) this.#close();
  }

  #fail(err: Error): void {
    this.error ??= err;
    this.stop();
  }

  /** Stops copying at once: the FIFO fd is closed; chunks already handed to the sink stay there. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#socket.destroy();
    // A chunk the sink never acknowledges (it died) must not keep done() from resolving.
    this.#close();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#socket.destroyed) this.#socket.destroy();
    // The socket is closed: no read fills a buffer any more, so the ones no sink saw go back.
    this.#slabs?.release();
    if (this.#current) releaseBuffer(this.#current);
    this.#current = null;
    if (this.#waitingDrain) this.#sink.removeListener('drain', this.#onDrain);
    this.#sink.removeListener('error', this.#onSinkError);
    this.#finish();
  }
}
