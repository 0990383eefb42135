import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import { Writable } from 'node:stream';
import { TaskioError, abortError, showValue } from '../errors.js';
import { isCode, mkfifo, setPipeSize, unlinkIfPresent } from '../sys/index.js';
import { checkPermBits } from '../permBits.js';
import { checkPath } from './config.js';
import { checkFifoOwner } from './fifoOwner.js';

// libuv adds O_CLOEXEC to every open, so no fd leaks into a spawned task.
const { O_RDONLY, O_WRONLY, O_RDWR, O_NONBLOCK, O_NOFOLLOW } = fs.constants;

/** The direction a FIFO is opened in: read, write, or both (`O_RDWR`, never blocks, never EOF). */
export type FifoMode = 'r' | 'w' | 'rw';

/** Options of {@link openFifo}. */
export interface OpenFifoOptions {
  /** Create the FIFO when the path does not exist (default false). */
  create?: boolean;
  /** Permissions of a FIFO created here: 0..0o777 (default 0600). */
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

/** What kind of file `st` describes, for error messages: `'a symbolic link'`, `'a FIFO'` … */
export function describeFileType(st: fs.Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isFile()) return 'a regular file';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'of an unknown type';
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

/**
 * Checks an options object that may carry an abort `signal` (`what` names it in the message).
 * @throws TaskioError `ERR_INVALID_ARG_TYPE` for a non-object or a signal that is no `AbortSignal`.
 */
export function checkSignalOptions(opts: { signal?: AbortSignal }, what: string): void {
  if (opts === null || typeof opts !== 'object') throw new TaskioError('ERR_INVALID_ARG_TYPE', `${what} must be an object, got ${showValue(opts)}`);
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) {
    throw new TaskioError('ERR_INVALID_ARG_TYPE', `${what}.signal must be an AbortSignal, got ${showValue(opts.signal)}`);
  }
}

/**
 * Checks every argument of an open before anything is made and returns the mode's open flags. The
 * mode is looked up as an own key: `'constructor'` or `'toString'` are keys of every object.
 */
function checkOpen(path: string, mode: FifoMode, opts: OpenFifoOptions): number {
  checkPath(path, 'a FIFO path');
  if (typeof mode !== 'string' || !Object.hasOwn(modeFlags, mode)) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `invalid FIFO mode ${showValue(mode)}: use 'r', 'w' or 'rw'`);
  }
  checkSignalOptions(opts, 'the FIFO open options');
  const { create, perm } = opts;
  if (create !== undefined && typeof create !== 'boolean') throw new TaskioError('ERR_INVALID_ARG_TYPE', `create must be a boolean, got ${showValue(create)}`);
  if (perm !== undefined) checkPermBits(perm, 'perm');
  return modeFlags[mode];
}

/** Makes a FIFO at `path`; false when something is there already (it is left as it is). */
function makeFifo(path: string, perm = 0o600): boolean {
  try {
    mkfifo(path, perm);
    return true;
  } catch (err) {
    if (!isCode(err, 'EEXIST')) throw err;
    return false;
  }
}

/**
 * Makes those of `paths` that do not exist as FIFOs (0600) and returns the ones it made: a call
 * that creates what a set lacks and then fails removes exactly those ({@link removeFifos}), never a
 * file that was there before it. When one cannot be made, those made before it are removed. Blank
 * paths (streams left out) and repeats (the lock's FIFO is one of the set's) are skipped.
 */
export function makeMissingFifos(paths: readonly string[]): string[] {
  const made: string[] = [];
  try {
    for (const p of new Set(paths)) if (p !== '' && makeFifo(checkPath(p, 'a FIFO path'))) made.push(p);
  } catch (err) {
    removeFifos(made);
    throw err;
  }
  return made;
}

/** Removes FIFOs {@link makeMissingFifos} made, on a failure path: what fails here must not hide the error being thrown. */
export function removeFifos(paths: readonly string[]): void {
  for (const p of paths) {
    try {
      unlinkIfPresent(p);
    } catch {
      // left behind, as it would be without this cleanup; the caller's own error is the one to report
    }
  }
}

/**
 * Makes the FIFO when asked to and checks that what is at `path` is one that no other user could
 * have planted ({@link checkFifoOwner}): before the open, so that a writer, which opens only once a
 * reader exists, is refused at once. The open checks again what it opened.
 */
function prepare(path: string, opts: OpenFifoOptions): void {
  if (opts.create && makeFifo(path, opts.perm)) {
    // A perm others may write (0o666): the umask decides whether the FIFO is; one that is goes again.
    if (opts.perm !== undefined && (opts.perm & 0o002) !== 0) refuseMade(path);
    return;
  }
  let st: fs.Stats;
  try {
    st = fs.lstatSync(path);
  } catch (err) {
    if (isCode(err, 'ENOENT')) throw Object.assign(err as Error, { message: `no FIFO at ${JSON.stringify(path)}: ${(err as Error).message}` });
    throw err;
  }
  if (!st.isFIFO()) throw notFifo(path, describeFileType(st));
  checkFifoOwner(path, st);
}

/** Checks the FIFO this call just made at `path`; when it is refused, it is removed first. */
function refuseMade(path: string): void {
  try {
    checkFifoOwner(path, fs.lstatSync(path));
  } catch (err) {
    removeFifos([path]);
    throw err;
  }
}

/**
 * Opens a FIFO without ever blocking: `O_NONBLOCK | O_NOFOLLOW`, then checks that the fd is a FIFO
 * no other user could have planted ({@link checkFifoOwner}; a swap after {@link prepare} is caught
 * here, and the fd is closed) and raises the pipe to {@link pipeSize} where allowed. A writer gets
 * `ENXIO` while there is no reader.
 */
export function openFifoFd(path: string, mode: FifoMode, opts: OpenFifoOptions = {}): number {
  const flags = checkOpen(path, mode, opts);
  prepare(path, opts);
  return openChecked(path, flags);
}

/**
 * A read fd on the FIFO at `path` for a call that made the FIFOs in `made` up front
 * ({@link makeMissingFifos}): {@link openFifoFd}, without its look before the open for one of
 * those — as `openFifoFd` with `create` skips it for a FIFO it made itself. What is opened is checked
 * all the same, so a FIFO swapped in meanwhile is still refused.
 */
export function openReaderFd(path: string, made: readonly string[]): number {
  return made.includes(path) ? openChecked(path, checkOpen(path, 'r', {})) : openFifoFd(path, 'r');
}

/** Opens `path` with `flags` without blocking or following a symlink, and checks what was opened (see {@link openFifoFd}). */
function openChecked(path: string, flags: number): number {
  let fd: number;
  try {
    fd = fs.openSync(path, flags | O_NONBLOCK | O_NOFOLLOW);
  } catch (err) {
    if (isCode(err, 'ELOOP')) throw notFifo(path, 'a symbolic link');
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFIFO()) throw notFifo(path, describeFileType(st));
    // What was opened, not what the path named at prepare(): a FIFO swapped in meanwhile is caught.
    checkFifoOwner(path, st);
    try {
      setPipeSize(fd, pipeSize);
    } catch {
      // EPERM above pipe-max-size for non-root, EBUSY when the pipe holds more: the default size stays.
    }
    return fd;
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

const retryMin = 1, retryMax = 100;

/** The largest write a pipe takes whole or not at all (`PIPE_BUF` on Linux). */
const PIPE_BUF = 4096;

/**
 * Opens the write side of a FIFO once a reader exists: `ENXIO` (no reader yet) is retried with a
 * backoff from 1 ms doubling to 100 ms, on timers, so no libuv threadpool thread ever waits. The
 * timers keep the process alive, as any awaited operation does.
 */
export async function openFifoWriterFd(path: string, opts: OpenFifoOptions = {}): Promise<number> {
  checkOpen(path, 'w', opts);
  return retryOpenWriter(path, opts, () => undefined);
}

/** {@link openFifoWriterFd}, telling `onTimer` of each retry timer so the caller can unref it. */
async function retryOpenWriter(path: string, opts: OpenFifoOptions, onTimer: (timer: NodeJS.Timeout) => void): Promise<number> {
  let delay = retryMin;
  for (;;) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    try {
      return openFifoFd(path, 'w', opts);
    } catch (err) {
      if (!isCode(err, 'ENXIO')) throw err;
    }
    await abortableDelay(delay, opts.signal, onTimer);
    delay = Math.min(delay * 2, retryMax);
  }
}

function abortableDelay(ms: number, signal: AbortSignal | undefined, onTimer: (timer: NodeJS.Timeout) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => { clearTimeout(timer); reject(abortError(signal)); };
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    onTimer(timer);
  });
}

/** The chunk a {@link FifoWriter} is writing: the bytes before `offset` are in the pipe. */
interface Pending {
  chunk: Buffer;
  offset: number;
  cb: (err?: Error | null) => void;
}

/**
 * The write side of a FIFO, usable at once: writes are buffered (with the usual backpressure)
 * until a reader opens the other side, then go into the pipe. The FIFO is made (with `create`) or
 * checked at construction, which throws `ERR_NOT_FIFO` (or `ERR_UNSAFE_DIR`, see {@link openFifo}).
 * `destroy()` cancels a pending open and releases the fd at once; `EPIPE` means the reader left.
 *
 * **Exactly once.** The writer always knows which bytes are in the pipe: it writes with
 * non-blocking `write(2)` calls that report how much went in, and while the pipe is full it waits
 * with a write of at most `PIPE_BUF` bytes, which a pipe takes whole or not at all. So after a
 * `destroy()` (a detach), {@link unwritten} is exactly what was written to this stream and never
 * reached the FIFO, for the caller to send again elsewhere.
 *
 * **Event loop.** While it waits for a reader with nothing to write, the writer does not keep the
 * process alive; with data pending it does, as a connecting socket does.
 *
 * `'close'` comes after the fd is closed: after `end()`, that is the reader's EOF.
 */
export class FifoWriter extends Writable {
  /** Resolves with the socket once the FIFO is open for writing. */
  readonly opened: Promise<net.Socket>;
  #socket: net.Socket | null = null;
  #fd = -1;
  readonly #abort = new AbortController();
  #retry: NodeJS.Timeout | null = null;
  #pending: Pending | null = null;
  #unwritten: Buffer[] | null = null;

  constructor(readonly path: string, opts: OpenFifoOptions = {}) {
    super({ highWaterMark: 64 * 1024 });
    checkOpen(path, 'w', opts);
    prepare(path, opts);
    const signal = opts.signal ? AbortSignal.any([opts.signal, this.#abort.signal]) : this.#abort.signal;
    const onTimer = (timer: NodeJS.Timeout): void => {
      this.#retry = timer;
      if (this.#pending === null) timer.unref();
    };
    this.opened = retryOpenWriter(path, { ...opts, create: false, signal }, onTimer).then((fd) => {
      this.#retry = null;
      if (this.destroyed) {
        fs.closeSync(fd);
        throw abortError();
      }
      const socket = new net.Socket({ fd, readable: false, writable: true });
      socket.on('error', (err) => this.destroy(err));
      this.#socket = socket;
      this.#fd = fd;
      if (this.#pending) this.#flush(this.#pending);
      return socket;
    });
    this.opened.catch((err: unknown) => { if (!this.destroyed) this.destroy(err as Error); });
  }

  /**
   * What was written to this stream and is not in the FIFO, in order: the rest of the chunk being
   * written and the chunks queued behind it. After `destroy()` it is fixed: the bytes a detach held
   * back. Empty once everything went out.
   */
  unwritten(): Buffer {
    return Buffer.concat(this.#unwritten ?? this.#collectUnwritten());
  }

  #collectUnwritten(): Buffer[] {
    const rest: Buffer[] = [];
    const p = this.#pending;
    if (p && p.offset < p.chunk.length) rest.push(p.chunk.subarray(p.offset));
    const queued = (this as unknown as { writableBuffer: { chunk: Buffer | string }[] }).writableBuffer;
    for (const { chunk } of queued) rest.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    return rest;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const pending: Pending = { chunk, offset: 0, cb };
    this.#pending = pending;
    if (this.#socket) this.#flush(pending);
    else this.#retry?.ref(); // data waits for a reader now: keep the process alive for it
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this._write(Buffer.concat(chunks.map((c) => c.chunk)), 'buffer' as BufferEncoding, cb);
  }

  /** Writes what the pipe takes now; when it is full, waits for room with an all-or-nothing write. */
  #flush(p: Pending): void {
    while (p.offset < p.chunk.length) {
      if (this.destroyed || this.#pending !== p) return;
      try {
        p.offset += fs.writeSync(this.#fd, p.chunk, p.offset, p.chunk.length - p.offset);
      } catch (err) {
        if (isCode(err, 'EAGAIN')) return this.#waitForRoom(p);
        this.#pending = null;
        return p.cb(err as Error);
      }
    }
    this.#pending = null;
    p.cb();
  }

  #waitForRoom(p: Pending): void {
    const socket = this.#socket!;
    const n = Math.min(PIPE_BUF, p.chunk.length - p.offset);
    let settled = false;
    const done = (err?: Error | null): void => {
      if (settled) return;
      settled = true;
      // After destroy() Node runs this callback whether or not the bytes went out: the account
      // taken at destroy time (not written until this callback runs) is the one that holds.
      if (this.destroyed || this.#pending !== p) return;
      if (err) {
        this.#pending = null;
        return p.cb(err);
      }
      p.offset += n;
      this.#flush(p);
    };
    socket.write(p.chunk.subarray(p.offset, p.offset + n), done);
    // Written at once after all (the reader made room meanwhile): Node only defers the callback.
    if (socket.writableLength === 0) done();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.opened.then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#unwritten ??= this.#collectUnwritten();
    this.#abort.abort();
    const socket = this.#socket;
    if (socket === null || socket.closed) return cb(err);
    socket.once('close', () => cb(err));
    socket.destroy();
  }
}

/** What {@link openFifo} returns: a `net.Socket` for `'r'` and `'rw'`, a {@link FifoWriter} for `'w'`. */
export type FifoStream = net.Socket | FifoWriter;

/**
 * Opens a FIFO as a Node stream and resolves at once, without waiting for the other side.
 * `'r'` gives a read-only socket whose first read waits (epoll) for a writer and whose `'end'`
 * comes when the last writer closes; `'w'` gives a {@link FifoWriter}; `'rw'` an `O_RDWR` socket.
 * @throws TaskioError `ERR_NOT_FIFO` when the path holds anything but a FIFO (a symlink included);
 *   `ERR_UNSAFE_DIR` for a FIFO others can write, or one of another user (not root) in a directory
 *   another user can write — nothing is left open, and only a FIFO this call made is removed;
 *   `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` naming a path that is no string, empty or holds
 *   a NUL, a mode other than `'r'`, `'w'`, `'rw'`, or a bad option (`perm` outside 0..0o777) — before
 *   anything is made.
 */
export function openFifo(path: string, mode: 'r' | 'rw', opts?: OpenFifoOptions): Promise<net.Socket>;
export function openFifo(path: string, mode: 'w', opts?: OpenFifoOptions): Promise<FifoWriter>;
export function openFifo(path: string, mode: FifoMode, opts?: OpenFifoOptions): Promise<FifoStream>;
export async function openFifo(path: string, mode: FifoMode, opts: OpenFifoOptions = {}): Promise<FifoStream> {
  checkOpen(path, mode, opts);
  if (opts.signal?.aborted) throw abortError(opts.signal);
  if (mode === 'w') return new FifoWriter(path, opts);
  const fd = openFifoFd(path, mode, opts);
  return new net.Socket({ fd, readable: true, writable: mode === 'rw' });
}
