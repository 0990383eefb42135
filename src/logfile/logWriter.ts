import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { TaskioError, abortError, showValue } from '../errors.js';
import { describeFileType } from '../fifo/openFifo.js';
import { setPipeSize } from '../sys/index.js';
import { CriEncoder } from './criEncoder.js';
import { formatCriTime, nowNs } from './criTime.js';
import { LogCopy } from './logCopy.js';
import { LogFile, logClosedError } from './logFile.js';
import { QuietLine } from './quietLine.js';
import { requireAbsolutePath } from './absolutePath.js';
import {
  defaultMaxFiles, defaultMaxLineSize, validateLogWriterOptions,
  type LogFormat, type LogStreamName, type LogWriterOptions,
} from './options.js';

/** Options of {@link LogWriter.copyFrom}. */
export interface CopyFromOptions {
  /**
   * Stops copying (the fd is closed, unread bytes in the pipe are not logged, an unfinished line is
   * written as a `P` entry); the promise rejects with an `AbortError`.
   */
  signal?: AbortSignal;
}

// The copy fast path reads into one reused buffer as large as the largest pipe (in Node the
// allocation per chunk, not the syscall, is what costs).
const copyBufferSize = 1 << 20;
const streamHighWaterMark = 64 * 1024;
// A CRI copy pauses 1 ms after a read that found the pipe less than 1/8 full (see LogCopy); not
// with a small pipe, where 1 ms per read would cap throughput.
const gatherMinPipe = 256 * 1024;

/**
 * Writes a task's stdout and stderr into one log file, `raw` or in the CRI format, rotating by
 * size. Create it with {@link openLogWriter}.
 *
 * Events: `'error'` (the file cannot be written — full disk, unwritable directory; the writer
 * stalls, stops consuming so the producer backs up in its pipe, and retries), `'resume'` (a stalled
 * writer got going again), `'rotate'` (a rotation finished), `'rotateError'` (renaming failed; the
 * current file keeps growing). Without an `'error'` listener the error becomes a process warning
 * instead of an exception, so a full disk never brings the task host down.
 */
export class LogWriter extends EventEmitter {
  /** The absolute path of the current log file. */
  readonly path: string;
  /** The layout of the log. */
  readonly format: LogFormat;
  readonly #file: LogFile;
  readonly #maxLineSize: number;
  // Each stream's encoder, and its wait for quiet in the middle of a line (see QuietLine).
  readonly #streamEncoders = new Map<LogStreamName, { enc: CriEncoder; quiet: QuietLine }>();
  // Encoders of stream() that may hold an unfinished line: close() writes those lines as P entries.
  readonly #live = new Set<CriEncoder>();
  readonly #streams = new Map<LogStreamName, Writable>();
  readonly #copies = new Set<LogCopy>();
  // Bytes of each stream's call in flight (handed to the file, its callback not yet run).
  readonly #inFlight = new Map<Writable, number>();
  // The streams close() waits for, each with what it may still hand over (see #heldBy).
  readonly #flushing = new Map<Writable, { ended: boolean; done: () => void }>();
  #closed = false;
  #closing: Promise<void> | null = null;

  /** Use {@link openLogWriter}. */
  constructor(file: string, opts: LogWriterOptions = {}) {
    super();
    requireAbsolutePath(file);
    validateLogWriterOptions(opts);
    this.path = file;
    this.format = opts.format ?? 'raw';
    this.#maxLineSize = opts.maxLineSize ?? defaultMaxLineSize;
    this.#file = new LogFile(file, {
      ...(opts.maxSize !== undefined ? { maxSize: opts.maxSize } : {}),
      maxFiles: opts.maxFiles ?? defaultMaxFiles,
      mode: opts.mode ?? 0o640,
      cutAtNewline: this.format === 'cri',
    });
    this.#file.on('error', (err: Error) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
      else process.emitWarning(err);
    });
    this.#file.on('resume', () => this.emit('resume'));
    this.#file.on('rotate', () => this.emit('rotate'));
    this.#file.on('rotateError', (err: Error) => this.emit('rotateError', err));
  }

  /** Whether the file being written was removed under it (see `LogFile.removed`). */
  get fileRemoved(): boolean {
    return this.#file.removed;
  }

  /** Where the file being written was renamed to, outside this writer (see `LogFile.movedTo`), else null. */
  get fileMovedTo(): string | null {
    return this.#file.movedTo;
  }

  /** The error the writer is stalled on, or null while output goes through. */
  get stalled(): Error | null {
    return this.#file.stalled;
  }

  /**
   * The writable side for one stream (the same object on every call). Its write callbacks fire once
   * the bytes are in the file, so `write()` returning false and `'drain'` carry the disk's pace back
   * to the producer; it holds at most 64 KiB plus one CRI line. A CRI line left unfinished by a
   * write is written as a `P` entry once no write followed it for 50 ms after it was in the file
   * (as with {@link copyFrom}).
   * Ending it writes an unfinished last line as an `F` entry.
   */
  stream(name: LogStreamName): Writable {
    checkStreamName(name);
    let s = this.#streams.get(name);
    if (!s) {
      const w: Writable = new Writable({
        highWaterMark: streamHighWaterMark,
        write: (chunk: Buffer, _enc, cb) => this.#handOver(w, name, [chunk], cb),
        writev: (chunks, cb) => this.#handOver(w, name, chunks.map((c) => c.chunk as Buffer), cb),
        final: (cb) => this.#handOver(w, name, null, cb),
      });
      s = w;
      this.#streams.set(name, s);
    }
    return s;
  }

  /**
   * The fast path: reads the pipe or FIFO `fd` (raised to a 1 MiB pipe where possible) into one
   * reused 1 MiB buffer and writes each read into the log with one write, reading again only once
   * that write is done — no allocation per chunk, and the producer is held back by the disk's pace.
   * The wait also batches: while a write is in flight the pipe fills, so the next read takes many
   * lines at once.
   *
   * In CRI format a chunk's entries are encoded in one pass into one reused output buffer
   * ({@link CriEncoder}). An entry ends at a newline or at `maxLineSize`, and also where the pipe
   * stayed empty for 50 ms in the middle of a line (the part read is a `P` entry: a prompt waiting
   * for its answer reaches the log's followers at once, as conmon writes each read's unfinished
   * tail; the short wait keeps a line whole that is written in two quick writes). A read that found
   * the pipe nearly empty is followed by a 1 ms pause before the next read (only with a pipe of
   * 256 KiB or more), so a stream of short lines costs a few hundred read/write cycles per second
   * instead of one per line; the entries' times are those of the read, as conmon's are. Each copy has its own encoder, so two sources of one stream (two
   * copies, or a copy and {@link stream}) never mix their unfinished lines.
   *
   * Takes ownership of `fd` (it is closed at the end). Resolves with the bytes copied at EOF (an
   * unfinished last line is then an `F` entry: the stream ended there), or when {@link close}
   * stopped the copy (the unfinished line is a `P` entry: it was cut). Rejects with an `AbortError`
   * on `signal`, with the file's error when it was given up on, with `ERR_LOG_CLOSED` after
   * {@link close}, and — never throwing, the fd closed — with `ERR_INVALID_FD_TYPE` for an fd that
   * is not a pipe, FIFO or socket (a regular file, `/dev/null`, a directory), `EBADF` for one not
   * open, `ERR_INVALID_ARG_VALUE` for a bad stream name. The states of a copy are those of
   * `LogCopy` (logCopy.ts).
   */
  copyFrom(name: LogStreamName, fd: number, opts: CopyFromOptions = {}): Promise<number> {
    // The fd is owned from the call on, whatever happens next: every refusal closes it (closing a
    // pipe never blocks) and is a rejection, as the promise is the one place a caller looks.
    try {
      checkStreamName(name);
      checkReadableFd(fd);
      const signal = opts?.signal;
      if (this.#closed) throw logClosedError(this.path);
      if (signal?.aborted) throw abortError(signal);
      let pipeSize = 0;
      try {
        pipeSize = setPipeSize(fd, copyBufferSize);
      } catch {
        // A socket, or above pipe-max-size: the copy works the same, in smaller reads.
      }
      const encoder = this.format === 'cri' ? new CriEncoder(name, this.#maxLineSize, copyBufferSize) : null;
      const gatherBelow = encoder && pipeSize >= gatherMinPipe ? pipeSize >> 3 : 0;
      const copy = new LogCopy(fd, this.#file, encoder, gatherBelow, copyBufferSize, signal);
      this.#copies.add(copy);
      const forget = (): void => { this.#copies.delete(copy); };
      copy.done.then(forget, forget);
      return copy.done;
    } catch (err) {
      try {
        if (Number.isInteger(fd) && fd >= 0) fs.closeSync(fd);
      } catch {
        // Not an open fd: nothing to release.
      }
      return Promise.reject(err);
    }
  }

  /** Closes the log file after what is queued and opens its path again (for an external logrotate). */
  reopen(): Promise<void> {
    return this.#file.reopen();
  }

  /**
   * Stops any {@link copyFrom} (it resolves with the bytes it read), writes what each
   * {@link stream} still held from before the call (its buffered writes and a pending `end()`: what
   * was written before close() reaches the file, as docker, containerd and conmon flush on close),
   * writes each unfinished CRI line as a `P` entry — the line was cut by the stop, not ended by its
   * stream, so a reader joins it with whatever a later writer appends to the same stream — flushes
   * and closes the file. Rejects with the stall error when the writer was stalled, or stalls while
   * closing (its pending output is lost, and that is reported, not hidden: here, and as an `'error'`
   * of a {@link stream} that held bytes only when it has a listener — one without is destroyed
   * quietly, so a caller who handled this rejection and the writer's `'error'` is not crashed by a
   * third report).
   * Later writes fail with `ERR_LOG_CLOSED`, in their callback and, with a listener, as the stream's
   * `'error'` — except one that joined output the stream still held from before: a Writable hands its
   * buffered writes over in one call with one callback, and that call is written whole.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const held = Promise.all([...this.#streams.values()].map((s) => this.#heldBy(s)));
    // end() gives fresh buffers, so this is safe while a copy's last output is still queued.
    for (const copy of this.#copies) {
      const tail = copy.stop();
      if (tail) this.#file.write([tail], () => undefined);
    }
    // Held output waits for the file; a stalled file is given up on instead (its loss is reported).
    let onStall = (): void => undefined;
    const stalled = new Promise<void>((resolve) => { onStall = resolve; });
    if (this.#file.stalled) onStall();
    else this.#file.once('error', onStall);
    await Promise.race([held, stalled]);
    this.#file.off('error', onStall);
    const time = formatCriTime(nowNs());
    for (const { quiet } of this.#streamEncoders.values()) quiet.cancel();
    for (const enc of this.#live) {
      const tail = enc.end(time, true);
      if (tail) this.#file.write([tail], () => undefined);
    }
    this.#live.clear();
    await this.#file.close();
  }

  /**
   * Resolves once stream `s` has handed over to the file what was written to it before close() and
   * it still holds: the writes buffered behind its call in flight (the Writable hands them over in
   * one call once that call is done) and a pending `end()` (then everything, as nothing can be
   * written after it). Also resolves when the stream is destroyed first (close() gave up on a stalled
   * file, which failed its call in flight).
   */
  #heldBy(s: Writable): Promise<void> {
    if (s.destroyed || s.writableFinished) return Promise.resolve();
    const ended = s.writableEnded;
    if (!ended && s.writableLength === (this.#inFlight.get(s) ?? 0)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        s.off('close', done);
        resolve();
      };
      this.#flushing.set(s, { ended, done });
      s.once('close', done);
      // Corked writes were written before close() too; end() uncorks the same way.
      while (s.writableCorked > 0) s.uncork();
    });
  }

  /** A call of stream `s`: its chunks, or null for its `end()`. */
  #handOver(s: Writable, name: LogStreamName, chunks: Buffer[] | null, cb: (err?: Error | null) => void): void {
    const flush = this.#flushing.get(s);
    if (this.#closed && !flush) {
      // Not held from before close(); the file may still be open for held output, so refuse here.
      process.nextTick(this.#quietAfterClose(s, cb), logClosedError(this.path));
      return;
    }
    let bytes = 0;
    for (const c of chunks ?? []) bytes += c.length;
    this.#inFlight.set(s, bytes);
    const done = this.#quietAfterClose(s, (err) => {
      this.#inFlight.delete(s);
      cb(err);
    });
    if (chunks) this.#push(name, chunks, done);
    else this.#endStream(name, done);
    if (flush && !flush.ended) {
      // That was the one call it still owed: it is queued in the file, ahead of the close.
      this.#flushing.delete(s);
      flush.done();
    }
  }

  /**
   * A stream's write callback that does not turn an error after {@link close} into an uncaught
   * exception when the stream has no `'error'` listener — a caller who only writes a stream has
   * none. The loss of a close() that gave up on a stalled file was reported already (the writer's
   * `'error'` when it stalled, and close()'s rejection), and a third report would crash a process
   * that handled both; a write after close() is refused in its callback. Such a stream is destroyed
   * without an error instead (its pending `write()` callbacks still get the error, or
   * `ERR_STREAM_DESTROYED`), as the writer itself warns instead of throwing when nobody listens. A
   * stream with an `'error'` listener hears the error there.
   */
  #quietAfterClose(stream: Writable, cb: (err?: Error | null) => void): (err?: Error | null) => void {
    return (err) => {
      if (err && this.#closed && stream.listenerCount('error') === 0) stream.destroy();
      cb(err);
    };
  }

  #streamEncoder(name: LogStreamName): { enc: CriEncoder; quiet: QuietLine } {
    let s = this.#streamEncoders.get(name);
    if (!s) {
      const enc = new CriEncoder(name, this.#maxLineSize, streamHighWaterMark);
      s = { enc, quiet: new QuietLine(() => this.#quietLine(enc)) };
      this.#streamEncoders.set(name, s);
      this.#live.add(enc);
    }
    return s;
  }

  #push(name: LogStreamName, chunks: Buffer[], cb: (err?: Error | null) => void): void {
    if (this.format === 'raw') {
      this.#file.write(chunks, cb);
      return;
    }
    // The Writable calls again only after cb, i.e. once the encoder's output is in the file.
    const { enc, quiet } = this.#streamEncoder(name);
    quiet.cancel();
    const time = formatCriTime(nowNs());
    for (const c of chunks) {
      for (let from = 0; from < c.length;) {
        const n = enc.load(c, from);
        enc.encode(n, time);
        from += n;
      }
    }
    // The wait for quiet starts once this call is done: while the file writes it, the producer
    // waits for its callback, and that is not quiet (a slow disk would cut its lines).
    const done = (err?: Error | null): void => {
      if (!err && enc.pendingBytes > 0) quiet.arm();
      cb(err);
    };
    const out = enc.takeOutput();
    if (out === null) done();
    else this.#file.write(out, done);
  }

  /**
   * No write came for a while after one that left a line unfinished was done: the part held is
   * written as a `P` entry (the file writes in order). This adds at most one entry per write.
   */
  #quietLine(enc: CriEncoder): void {
    if (this.#closed) return; // close() writes what is held
    const tail = enc.takePartial(formatCriTime(nowNs()));
    if (tail) this.#file.write([tail], () => undefined);
  }

  #endStream(name: LogStreamName, cb: (err?: Error | null) => void): void {
    const s = this.format === 'cri' ? this.#streamEncoder(name) : null;
    s?.quiet.cancel();
    const tail = s && this.#live.delete(s.enc) ? s.enc.end(formatCriTime(nowNs())) : null;
    if (tail) this.#file.write([tail], cb);
    else cb();
  }
}

/**
 * Checks that `fd` is something a copy can read as a stream: a pipe, FIFO or socket. A regular
 * file, a device (`/dev/null`) or a directory is refused here with a typed error naming it, where
 * `net.Socket` would throw Node's `Unsupported fd type`.
 * @throws TaskioError `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for a value that is no fd,
 *   `ERR_INVALID_FD_TYPE` naming what the fd is; `EBADF` when it is not open.
 */
function checkReadableFd(fd: unknown): asserts fd is number {
  if (typeof fd !== 'number') throw new TaskioError('ERR_INVALID_ARG_TYPE', `a copy reads a file descriptor (a number), got ${showValue(fd)}`);
  if (!Number.isInteger(fd) || fd < 0) throw new TaskioError('ERR_INVALID_ARG_VALUE', `a file descriptor is an integer >= 0, got ${showValue(fd)}`);
  const st = fs.fstatSync(fd);
  if (!st.isFIFO() && !st.isSocket()) {
    throw new TaskioError('ERR_INVALID_FD_TYPE', `a copy reads a pipe, FIFO or socket; fd ${fd} is ${describeFileType(st)}`);
  }
}

function checkStreamName(name: string): asserts name is LogStreamName {
  if (name !== 'stdout' && name !== 'stderr') {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `a log stream is stdout or stderr, got ${JSON.stringify(name)}`);
  }
}

/**
 * Opens a log writer on the absolute `file` (its directory is created when missing). The file is
 * opened on the first write; a failure then is an `'error'` event, not an exception, because the
 * task must keep running while its output waits. A relative path throws `ERR_INVALID_LOG_PATH`, a
 * bad option `ERR_INVALID_LOG_OPTION`.
 */
export function openLogWriter(file: string, opts: LogWriterOptions = {}): LogWriter {
  return new LogWriter(file, opts);
}
