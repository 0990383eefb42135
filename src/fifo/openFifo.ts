import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import { Writable } from 'node:stream';
import { TaskioError, abortError } from '../errors.js';
import { isCode, mkfifo, setPipeSize } from '../sys/index.js';

// libuv adds O_CLOEXEC to every open, so no fd leaks into a spawned task.
const { O_RDONLY, O_WRONLY, O_RDWR, O_NONBLOCK, O_NOFOLLOW } = fs.constants;

/** The direction a FIFO is opened in: read, write, or both (`O_RDWR`, never blocks, never EOF). */
export type FifoMode = 'r' | 'w' | 'rw';

/** Options of {@link openFifo}. */
export interface OpenFifoOptions {
  /** Create the FIFO when the path does not exist (default false). */
  create?: boolean;
  /** Permissions of a FIFO created here (default 0600). */
  perm?: number;
  /** Aborts a pending open (a writer waiting for a reader) with an `AbortError`. */
  signal?: AbortSignal;
}

/** The pipe size taskio asks for: 1 MiB, the default `/proc/sys/fs/pipe-max-size`. */
export const pipeSize = 1 << 20;

const modeFlags: Record<FifoMode, number> = { r: O_RDONLY, w: O_WRONLY, rw: O_RDWR };

function notFifo(path: string, what: string): TaskioError {
  return new TaskioError('ERR_NOT_FIFO', `${JSON.stringify(path)} is not a FIFO (it is ${what})`);
}

function describe(st: fs.Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isFile()) return 'a regular file';
  if (st.isSocket()) return 'a socket';
  return 'not a FIFO';
}

/** Tells whether `path` is a FIFO, without following a symlink. A missing path is `false`. */
export async function isFifo(path: string): Promise<boolean> {
  try {
    return (await fsp.lstat(path)).isFIFO();
  } catch (err) {
    if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return false;
    throw err;
  }
}

/** Makes the FIFO when asked to and checks that what is at `path` is one. */
function prepare(path: string, opts: OpenFifoOptions): void {
  if (opts.create) {
    try {
      mkfifo(path, opts.perm ?? 0o600);
      return;
    } catch (err) {
      if (!isCode(err, 'EEXIST')) throw err;
    }
  }
  let st: fs.Stats;
  try {
    st = fs.lstatSync(path);
  } catch (err) {
    if (isCode(err, 'ENOENT')) throw Object.assign(err as Error, { message: `no FIFO at ${JSON.stringify(path)}: ${(err as Error).message}` });
    throw err;
  }
  if (!st.isFIFO()) throw notFifo(path, describe(st));
}

/**
 * Opens a FIFO without ever blocking: `O_NONBLOCK | O_NOFOLLOW`, then checks with
 * `fstat` that the fd is a FIFO (a swap after {@link prepare} is caught here) and raises the pipe
 * to {@link pipeSize} where allowed. A writer gets `ENXIO` while there is no reader.
 */
export function openFifoFd(path: string, mode: FifoMode, opts: OpenFifoOptions = {}): number {
  prepare(path, opts);
  let fd: number;
  try {
    fd = fs.openSync(path, modeFlags[mode] | O_NONBLOCK | O_NOFOLLOW);
  } catch (err) {
    if (isCode(err, 'ELOOP')) throw notFifo(path, 'a symbolic link');
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFIFO()) throw notFifo(path, describe(st));
    try {
      setPipeSize(fd, pipeSize);
    } catch {
      // EPERM above pipe-max-size for non-root, EBUSY when the pipe holds more: keep the default.
    }
    return fd;
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

const retryMin = 1, retryMax = 100;

/**
 * Opens the write side of a FIFO once a reader exists: `ENXIO` (no reader yet) is retried with a
 * backoff from 1 ms doubling to 100 ms, on timers, so no libuv threadpool thread ever waits.
 */
export async function openFifoWriterFd(path: string, opts: OpenFifoOptions = {}): Promise<number> {
  let delay = retryMin;
  for (;;) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    try {
      return openFifoFd(path, 'w', opts);
    } catch (err) {
      if (!isCode(err, 'ENXIO')) throw err;
    }
    await abortableDelay(delay, opts.signal);
    delay = Math.min(delay * 2, retryMax);
  }
}

function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => { clearTimeout(timer); reject(abortError(signal)); };
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The write side of a FIFO, usable at once: writes are buffered (with the usual backpressure)
 * until a reader opens the other side, then flow into a non-blocking `net.Socket`. The FIFO is
 * made (with `create`) or checked at construction, which throws `ERR_NOT_FIFO`. `destroy()`
 * cancels a pending open and releases the fd at once; `EPIPE` means the reader left.
 */
export class FifoWriter extends Writable {
  /** Resolves with the socket once the FIFO is open for writing. */
  readonly opened: Promise<net.Socket>;
  private socket: net.Socket | null = null;
  private readonly abort = new AbortController();

  constructor(readonly path: string, opts: OpenFifoOptions = {}) {
    super({ highWaterMark: 64 * 1024 });
    prepare(path, opts);
    const signal = opts.signal ? AbortSignal.any([opts.signal, this.abort.signal]) : this.abort.signal;
    this.opened = openFifoWriterFd(path, { ...opts, create: false, signal }).then((fd) => {
      if (this.destroyed) {
        fs.closeSync(fd);
        throw abortError();
      }
      const socket = new net.Socket({ fd, readable: false, writable: true });
      socket.on('error', (err) => this.destroy(err));
      this.socket = socket;
      return socket;
    });
    this.opened.catch((err: unknown) => { if (!this.destroyed) this.destroy(err as Error); });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.socket) this.socket.write(chunk, cb);
    else this.opened.then((s) => s.write(chunk, cb), cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this._write(Buffer.concat(chunks.map((c) => c.chunk)), 'utf8', cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.opened.then((s) => s.end(cb), cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.abort.abort();
    this.socket?.destroy();
    cb(err);
  }
}

/** What {@link openFifo} returns: a `net.Socket` for `'r'` and `'rw'`, a {@link FifoWriter} for `'w'`. */
export type FifoStream = net.Socket | FifoWriter;

/**
 * Opens a FIFO as a Node stream and resolves at once, without waiting for the other side.
 * `'r'` gives a read-only socket whose first read waits (epoll) for a writer and whose `'end'`
 * comes when the last writer closes; `'w'` gives a {@link FifoWriter}; `'rw'` an `O_RDWR` socket.
 * @throws TaskioError `ERR_NOT_FIFO` when the path holds anything but a FIFO (a symlink included).
 */
export function openFifo(path: string, mode: 'r' | 'rw', opts?: OpenFifoOptions): Promise<net.Socket>;
export function openFifo(path: string, mode: 'w', opts?: OpenFifoOptions): Promise<FifoWriter>;
export function openFifo(path: string, mode: FifoMode, opts?: OpenFifoOptions): Promise<FifoStream>;
export async function openFifo(path: string, mode: FifoMode, opts: OpenFifoOptions = {}): Promise<FifoStream> {
  if (!(mode in modeFlags)) throw new TaskioError('ERR_INVALID_ARG_VALUE', `invalid FIFO mode ${JSON.stringify(mode)}: use 'r', 'w' or 'rw'`);
  if (opts.signal?.aborted) throw abortError(opts.signal);
  if (mode === 'w') return new FifoWriter(path, opts);
  const fd = openFifoFd(path, mode, opts);
  return new net.Socket({ fd, readable: true, writable: mode === 'rw' });
}
