import { EventEmitter } from 'node:events';
import net from 'node:net';
import { Writable } from 'node:stream';
import { TaskioError, abortError } from '../errors.js';
import { setPipeSize } from '../sys/index.js';
import { CriEncoder } from './criEncoder.js';
import { formatCriTime, nowNs } from './criTime.js';
import { LogFile } from './logFile.js';
import { requireAbsolutePath } from './absolutePath.js';
import {
  defaultMaxFiles, defaultMaxLineSize, validateLogWriterOptions,
  type LogFormat, type LogStreamName, type LogWriterOptions,
} from './options.js';

/** Options of {@link LogWriter.copyFrom}. */
export interface CopyFromOptions {
  /** Stops copying (the fd is closed); the promise rejects with an `AbortError`. */
  signal?: AbortSignal;
}

// The copy fast path reads into one reused buffer as large as the largest pipe (in Node the
// allocation per chunk, not the syscall, is what costs).
const copyBufferSize = 1 << 20;
const streamHighWaterMark = 64 * 1024;
// CRI read coalescing: a read that found the pipe less than 1/8 full means the copy keeps up with
// the producer, and reading again at once would take a few lines per wake-up — each one a read, an
// encode, a write handed to the threadpool and a wake-up of the producer's side, which is where the
// CPU went (≈10 000 cycles per 1 M lines of 100 bytes, 0.7–0.9 CPU-s). Waiting 1 ms lets the pipe
// gather them (≈500 cycles, ≈0.3 CPU-s). The cost is at most 1 ms of extra latency, and only
// for output that follows within 1 ms of the previous write; a 1 MiB pipe absorbs 1 GB/s for that
// long, so a fast producer (large reads) is never slowed. Not done with a small pipe, where 1 ms
// per read would cap throughput.
const coalesceMs = 1;
const coalesceMinPipe = 256 * 1024;

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
  private readonly file: LogFile;
  private readonly maxLineSize: number;
  private readonly streamEncoders = new Map<LogStreamName, CriEncoder>();
  // Encoders that may hold an unfinished line: close() writes those lines as F entries.
  private readonly live = new Set<CriEncoder>();
  private readonly streams = new Map<LogStreamName, Writable>();
  private readonly copies = new Set<net.Socket>();

  /** Use {@link openLogWriter}. */
  constructor(file: string, opts: LogWriterOptions = {}) {
    super();
    requireAbsolutePath(file);
    validateLogWriterOptions(opts);
    this.path = file;
    this.format = opts.format ?? 'raw';
    this.maxLineSize = opts.maxLineSize ?? defaultMaxLineSize;
    this.file = new LogFile(file, {
      ...(opts.maxSize !== undefined ? { maxSize: opts.maxSize } : {}),
      maxFiles: opts.maxFiles ?? defaultMaxFiles,
      mode: opts.mode ?? 0o640,
      cutAtNewline: this.format === 'cri',
    });
    this.file.on('error', (err: Error) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
      else process.emitWarning(err);
    });
    this.file.on('resume', () => this.emit('resume'));
    this.file.on('rotate', () => this.emit('rotate'));
    this.file.on('rotateError', (err: Error) => this.emit('rotateError', err));
  }

  /** The error the writer is stalled on, or null while output goes through. */
  get stalled(): Error | null {
    return this.file.stalled;
  }

  /**
   * The writable side for one stream (the same object on every call). Its write callbacks fire once
   * the bytes are in the file, so `write()` returning false and `'drain'` carry the disk's pace back
   * to the producer; it holds at most 64 KiB plus one CRI line. Ending it writes an unfinished last
   * line as an `F` entry.
   */
  stream(name: LogStreamName): Writable {
    checkStreamName(name);
    let s = this.streams.get(name);
    if (!s) {
      s = new Writable({
        highWaterMark: streamHighWaterMark,
        write: (chunk: Buffer, _enc, cb) => this.push(name, [chunk], cb),
        writev: (chunks, cb) => this.push(name, chunks.map((c) => c.chunk as Buffer), cb),
        final: (cb) => this.endStream(name, cb),
      });
      this.streams.set(name, s);
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
   * ({@link CriEncoder}), and a read that found the pipe nearly empty is followed by a 1 ms pause
   * before the next read (only with a pipe of 256 KiB or more), so a stream of short lines costs a
   * few hundred read/write cycles per second instead of one per line; the entries' times are those
   * of the read, as conmon's are. Each copy has its own encoder, so two sources of one stream (two
   * copies, or a copy and {@link stream}) never mix their unfinished lines.
   *
   * Takes ownership of `fd` (it is closed at the end). Resolves with the bytes copied at EOF, or
   * when {@link close} stopped the copy.
   */
  copyFrom(name: LogStreamName, fd: number, opts: CopyFromOptions = {}): Promise<number> {
    checkStreamName(name);
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    let pipeSize = 0;
    try {
      pipeSize = setPipeSize(fd, copyBufferSize);
    } catch {
      // Not a pipe, or above pipe-max-size: the copy works the same, in smaller reads.
    }
    const coalesceBelow = pipeSize >= coalesceMinPipe ? pipeSize >> 3 : 0;
    const encoder = this.format === 'cri' ? new CriEncoder(name, this.maxLineSize, copyBufferSize) : null;
    if (encoder) this.live.add(encoder);
    return new Promise<number>((resolve, reject) => {
      let total = 0;
      let settled = false, ended = false;
      const finishEncoder = (): void => {
        if (!encoder || !this.live.delete(encoder)) return;
        const tail = encoder.end(formatCriTime(nowNs()));
        if (tail) this.file.write([tail], () => undefined);
      };
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        sock.destroy();
        // What was read is still logged: the unfinished last line goes in as an F entry.
        finishEncoder();
        reject(err);
      };
      // Both paths hand the file memory that the next read or encode reuses: read again only
      // once the write is done.
      let lastRead = 0;
      let timer: NodeJS.Timeout | null = null;
      const resume = (): void => {
        timer = null;
        if (!sock.destroyed) sock.resume();
      };
      const written = (err?: Error | null): void => {
        if (err) fail(err);
        else if (sock.destroyed) return;
        else if (encoder && lastRead < coalesceBelow) timer = setTimeout(resume, coalesceMs);
        else sock.resume();
      };
      // Raw copies read into one buffer while the other is being written (the file's writes finish
      // in order, so the buffer read into next is always the older one); they wait only when both
      // are in the file's queue.
      const rawBuffers = encoder ? [] : [Buffer.allocUnsafe(copyBufferSize), Buffer.allocUnsafe(copyBufferSize)];
      let rawNext = 0, rawInFlight = 0;
      const rawWritten = (err?: Error | null): void => {
        rawInFlight--;
        if (err) fail(err);
        else if (rawInFlight === 1 && !sock.destroyed) sock.resume();
      };
      const sock = new net.Socket({
        fd, readable: true, writable: false,
        onread: {
          buffer: encoder ? encoder.input : () => rawBuffers[rawNext]!,
          callback: (n: number, buf: Uint8Array): boolean => {
            total += n;
            lastRead = n;
            if (!encoder) {
              rawInFlight++;
              rawNext ^= 1;
              this.file.write([Buffer.from(buf.buffer, buf.byteOffset, n)], rawWritten);
              return rawInFlight < 2;
            }
            encoder.encode(n, formatCriTime(nowNs()));
            const out = encoder.takeOutput();
            // Only an unfinished line grew (it was copied aside): keep reading.
            if (out === null) return true;
            this.file.write(out, written);
            return false;
          },
        },
      } as net.SocketConstructorOpts);
      this.copies.add(sock);
      const onAbort = (): void => fail(abortError(signal));
      signal?.addEventListener('abort', onAbort, { once: true });
      sock.on('error', fail);
      sock.on('close', () => {
        this.copies.delete(sock);
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        // Stopped by close(), which writes this copy's unfinished line itself.
        if (!ended && !settled) {
          settled = true;
          resolve(total);
        }
      });
      sock.on('end', () => {
        ended = true;
        finishEncoder();
        // An empty write: its callback fires once everything queued before it is in the file.
        this.file.write([], (err) => {
          if (err) fail(err);
          else if (!settled) {
            settled = true;
            resolve(total);
          }
        });
      });
    });
  }

  /** Closes the log file after what is queued and opens its path again (for an external logrotate). */
  reopen(): Promise<void> {
    return this.file.reopen();
  }

  /**
   * Stops any {@link copyFrom}, writes unfinished CRI lines as `F` entries, flushes and closes the
   * file. Rejects with the stall error when the writer was stalled (its pending output is lost, and
   * that is reported, not hidden).
   */
  async close(): Promise<void> {
    for (const sock of this.copies) sock.destroy();
    const time = formatCriTime(nowNs());
    // end() gives fresh buffers, so this is safe while a copy's last output is still queued.
    for (const enc of this.live) {
      const tail = enc.end(time);
      if (tail) this.file.write([tail], () => undefined);
    }
    this.live.clear();
    await this.file.close();
  }

  private streamEncoder(name: LogStreamName): CriEncoder {
    let enc = this.streamEncoders.get(name);
    if (!enc) {
      enc = new CriEncoder(name, this.maxLineSize, streamHighWaterMark);
      this.streamEncoders.set(name, enc);
      this.live.add(enc);
    }
    return enc;
  }

  private push(name: LogStreamName, chunks: Buffer[], cb: (err?: Error | null) => void): void {
    if (this.format === 'raw') {
      this.file.write(chunks, cb);
      return;
    }
    // The Writable calls again only after cb, i.e. once the encoder's output is in the file.
    const enc = this.streamEncoder(name);
    const time = formatCriTime(nowNs());
    for (const c of chunks) {
      for (let from = 0; from < c.length;) {
        const n = enc.load(c, from);
        enc.encode(n, time);
        from += n;
      }
    }
    const out = enc.takeOutput();
    if (out === null) cb();
    else this.file.write(out, cb);
  }

  private endStream(name: LogStreamName, cb: (err?: Error | null) => void): void {
    const enc = this.format === 'cri' ? this.streamEncoder(name) : null;
    const tail = enc && this.live.delete(enc) ? enc.end(formatCriTime(nowNs())) : null;
    if (tail) this.file.write([tail], cb);
    else cb();
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
