import fs from 'node:fs';
import net from 'node:net';
import type { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { SlabCopier, acquireBuffer, heapSlabSize, keptSlabSize, nextClass, releaseBuffer, sizeClasses } from './bufferPool.js';
import { Coalescer } from './coalescer.js';
import { borrowsSafely } from './nonRetaining.js';
import { copiesFlowing, getPipeSize, keepFreedMemory, largeBlocksFromHeap, sweepArrayBuffersInline } from '../sys/index.js';

/** Options of a {@link Pump}. */
export interface PumpOptions {
  /** Read a busy stream in bursts ({@link Coalescer}; default true). */
  coalesce?: boolean;
}

/**
 * The copy engine: moves one FIFO's bytes into a user `Writable`. It reads with `net.Socket`'s
 * `onread` into pooled buffers (no allocation per read, which is what costs in Node). A sink known
 * not to keep chunks borrows those buffers until its write callback; any other sink gets copies in
 * slab memory that is never written again ({@link SlabCopier}). It stops reading while the sink
 * pushes back, so a slow consumer slows the task and memory stays bounded, and (unless told not to)
 * waits a moment after each burst of bulk output ({@link Coalescer}), so a busy stream wakes it less
 * often.
 * The sink is never ended or destroyed: it belongs to the caller.
 */
export class Pump {
  /** Resolves when the source reached EOF and every chunk was written, or the pump was stopped. */
  readonly done: Promise<void>;
  /** The first error of the source or the sink, if any; the copy stopped there. */
  error: Error | null = null;
  readonly #sink: Writable;
  readonly #socket: net.Socket;
  /** Set for a sink that may keep chunks; else the read buffers are lent to the sink. */
  readonly #copier: SlabCopier | null;
  #cls = 0;
  /** The buffer the next read fills: lent away after each read, or (copying) kept for the next. */
  #current: Buffer | null = null;
  #pending = 0;
  #inRead = false;
  #ended = false;
  #stopped = false;
  #closed = false;
  #finish!: () => void;
  #waitingDrain = false;
  /**
   * A write failed (its callback's error, or `_write` threw) and the sink has not emitted the
   * `'error'` that Node sends after it: the listener stays until it has (see {@link #onSinkError}).
   */
  #sinkErrorDue = false;
  /** Null when the caller turned coalescing off: every read follows the data at once. */
  readonly #coalescer: Coalescer | null;
  /** The pending wait of the {@link Coalescer}, made once and re-armed. */
  #coalesceTimer: NodeJS.Timeout | null = null;

  /** Takes ownership of `fd` (an open, non-blocking FIFO read fd), even when it throws: the fd is closed then. */
  constructor(fd: number, sink: Writable, opts: PumpOptions = {}) {
    this.#sink = sink;
    this.done = new Promise((resolve) => { this.#finish = resolve; });
    let socket: net.Socket | null = null;
    try {
      if (borrowsSafely(sink)) this.#copier = null;
      else {
        // See there: copies are fresh memory, freed by the GC, and both keep that cheap.
        keepFreedMemory();
        sweepArrayBuffersInline();
        this.#copier = new SlabCopier(largeBlocksFromHeap() ? heapSlabSize : keptSlabSize);
      }
      this.#coalescer = opts.coalesce === false ? null : new Coalescer(() => pipeBytes(fd), clock);
      // `onread` is a documented constructor option that @types/node only declares for connect().
      const options = {
        fd, readable: true, writable: false,
        onread: { buffer: () => this.#nextBuffer(), callback: (n: number, buf: Uint8Array) => this.#onRead(n, buf as Buffer) },
      };
      socket = new net.Socket(options as net.SocketConstructorOpts);
      this.#socket = socket;
      sink.on('error', this.#onSinkError);
    } catch (err) {
      // The caller handed the fd over and cannot tell how far this got: it is closed here, by the
      // socket once one holds it, or nobody would close it.
      if (socket === null) fs.closeSync(fd);
      else socket.destroy();
      throw err;
    }
    socket.on('end', () => { this.#ended = true; this.#settle(); });
    socket.on('error', (err) => this.#fail(err));
  }

  /**
   * A sink's error stops the copy (what is still in the pipe stays there for the next reader), as a
   * write error ends Go's `io.Copy` in containerd's `cio` — it does not end the process. A failed
   * write's `'error'` comes a tick after its callback, when the copy has already stopped, so the
   * listener is kept until then: without it a sink whose reader went away (`EPIPE` from a log
   * shipper that exited, or from `process.stdout` piped into `head`) would throw an unhandled
   * `'error'` out of the event loop and take the supervisor down with it. With no listener of the
   * caller's it becomes a process warning, as a `LogWriter`'s does.
   */
  readonly #onSinkError = (err: Error): void => {
    this.#sinkErrorDue = false;
    if (this.#sink.listenerCount('error') === 1) process.emitWarning(err);
    if (this.#closed) this.#sink.removeListener('error', this.#onSinkError);
    else this.#fail(err);
  };

  /** Node asks for the next read's buffer right after each read (and once at the start). */
  #nextBuffer(): Buffer {
    if (this.#current !== null && this.#current.length !== sizeClasses[this.#cls]) {
      releaseBuffer(this.#current); // a copying pump's buffer, from before its size class changed
      this.#current = null;
    }
    this.#current ??= acquireBuffer(this.#cls);
    return this.#current;
  }

  #onRead(n: number, buf: Buffer): boolean {
    if (this.#stopped) return false;
    this.#cls = nextClass(this.#cls, n, buf.length);
    this.#inRead = true;
    let ok = true;
    if (this.#copier === null) {
      this.#current = null; // lent until the sink's callback; the next read takes another
      ok = this.#write(buf.subarray(0, n), buf);
    } else {
      copiesFlowing();
      // Every byte read goes to the sink, pushback or not: the pipe cannot take it back.
      for (let at = 0; at < n && !this.#stopped;) {
        const chunk = this.#copier.copy(buf, at, n, sizeClasses[this.#cls]!);
        at += chunk.length;
        ok = this.#write(chunk, null) && ok;
      }
    }
    this.#inRead = false;
    if (this.#stopped) return false;
    if (this.#pending === 0) this.#settle();
    // A sink whose high-water mark is below a read (a PassThrough's 16 KiB) says "wait" even when
    // it took everything at once; only bytes it still holds are a reason to stop reading.
    if (!ok && this.#sink.writableLength > 0) {
      this.#waitingDrain = true;
      this.#sink.once('drain', this.#onDrain);
      return false;
    }
    const wait = this.#coalescer === null ? 0 : this.#coalescer.afterRead(n, buf.length);
    if (wait === 0) return true;
    // The timer is ref'd: a paused socket does not keep the process alive, the copy must.
    if (this.#coalesceTimer === null) this.#coalesceTimer = setTimeout(this.#onCoalesced, wait);
    else this.#coalesceTimer.refresh();
    return false;
  }

  readonly #onCoalesced = (): void => {
    if (!this.#stopped) this.#socket.resume();
  };

  /** A write's callback: one function for every copy (no closure per chunk at 4 KiB reads). */
  readonly #written = (err?: Error | null): void => {
    this.#pending--;
    if (err) {
      this.#sinkErrorDue = true;
      this.#fail(err);
    }
    else if (!this.#inRead) this.#settle();
  };

  /** Hands `chunk` to the sink; `lent` is the pool buffer it borrows until its callback. */
  #write(chunk: Buffer, lent: Buffer | null): boolean {
    this.#pending++;
    try {
      return this.#sink.write(chunk, lent === null ? this.#written : (err) => {
        releaseBuffer(lent);
        this.#written(err);
      });
    } catch (err) {
      // A `_write` that throws escapes `write()` (Node catches only a callback's error), and from
      // here it would reach libuv's read callback and bring the whole process down. Treated as
      // Node treats a callback error: the sink is destroyed with it (its 'error' event) and this
      // copy stops; what is still in the pipe stays there for the next reader. A lent buffer is
      // not given back: the sink may hold it.
      this.#pending--;
      this.#sinkErrorDue = true;
      this.#fail(err as Error);
      this.#sink.destroy(err as Error);
      return false;
    }
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
    // The socket is closed: no read fills a buffer any more, so one no sink saw goes back.
    if (this.#current) releaseBuffer(this.#current);
    this.#current = null;
    if (this.#waitingDrain) this.#sink.removeListener('drain', this.#onDrain);
    if (this.#coalesceTimer !== null) clearTimeout(this.#coalesceTimer);
    if (!this.#sinkErrorDue) this.#sink.removeListener('error', this.#onSinkError);
    this.#finish();
  }
}

/** The {@link Coalescer}'s clock: one function for every pump, not a closure each (a FIFO set makes two). */
const clock = (): number => performance.now();

/** The capacity of the pipe behind `fd`, 0 when it is none (the {@link Coalescer} then never waits). */
function pipeBytes(fd: number): number {
  try {
    return getPipeSize(fd);
  } catch {
    return 0;
  }
}
