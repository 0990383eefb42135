import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { TaskioError } from '../errors.js';
import { openRegularFile } from './regularFile.js';
import { announceRotation } from './rotationNotice.js';

const close = promisify(fs.close);
const rename = promisify(fs.rename), unlink = promisify(fs.unlink), mkdir = promisify(fs.mkdir);
const writev = promisify(fs.writev), read = promisify(fs.read);

/** Options of a {@link LogFile}. */
export interface LogFileOptions {
  /** Rotate before the file would grow past this many bytes; never when unset. */
  maxSize?: number;
  /** Files kept, the current one included. */
  maxFiles: number;
  /** File mode for files created. */
  mode: number;
  /**
   * Where a write may be cut at a rotation: at a newline (CRI, so no entry is split across files)
   * or anywhere (raw bytes have no entries).
   */
  cutAtNewline: boolean;
}

/** Called once the bytes handed to {@link LogFile.write} are in the file (or will never be). */
export type WriteCallback = (err?: Error | null) => void;

interface Pending {
  bufs: Buffer[];
  cb: WriteCallback;
}

// A writev takes at most IOV_MAX (1024) buffers; keep batches well under it and bounded in bytes.
const maxBatchBuffers = 256;
const maxBatchBytes = 4 << 20;
const firstBackoffMs = 100, maxBackoffMs = 5000;

/**
 * One log file written by one owner, in order: writes from every stream of a task go through one
 * queue, so entries never interleave mid-entry, and each write's callback fires only once its
 * bytes are in the file — that is what gives the streams above it their backpressure.
 *
 * When a write fails (full disk, unwritable directory) the file **stalls**: it emits `'error'`
 * once, keeps the unwritten bytes, stops calling callbacks (so producers back up into their pipes)
 * and retries with a growing delay; when a retry succeeds it emits `'resume'` and goes on. Nothing is
 * dropped unless {@link close} gives up on a stalled file, and then the callbacks get the error.
 *
 * Rotation (kubelet/docker style) renames `name.{i-1}` → `name.{i}` and `name` → `name.1` while the
 * old file is still open, then opens a fresh `name` and closes the old one: nothing is written to a
 * file after it was renamed. (An external logrotate is different — the old file takes writes until
 * {@link reopen} — which is why a follower leaves a renamed file only once a newer one holds data.)
 * Before each rotation the readers of the same log in this process are told which file it removes
 * (`announceRotation`), so one that has not read it yet keeps it open. Emits `'rotate'` after each rotation.
 */
export class LogFile extends EventEmitter {
  #fd = -1;
  #size = 0;
  readonly #queue: (Pending | (() => Promise<void> | void))[] = [];
  #running = false;
  #closed = false;
  #stallError: Error | null = null;
  #wakeStall: (() => void) | null = null;
  #stallTimer: NodeJS.Timeout | null = null;
  #rotationFailed = false;
  #rotating = false;
  #closing: Promise<void> | null = null;
  readonly #opts: LogFileOptions;

  constructor(readonly path: string, opts: LogFileOptions) {
    super();
    this.#opts = opts;
  }

  /** The error the file is stalled on, or null while writes go through. */
  get stalled(): Error | null {
    return this.#stallError;
  }

  /**
   * Whether the file being written has no name left: removed by hand, or by a logrotate without
   * `copytruncate` or a reopen. What is written goes on into it, and no reader can find it.
   */
  get removed(): boolean {
    // A rotation of a single file unlinks it before the new one is open: that is no removal.
    return !this.#rotating && this.#fd >= 0 && fs.fstatSync(this.#fd).nlink === 0;
  }

  /**
   * Where the file being written is now, when its path names it no more but the file still has a
   * name: renamed outside this writer (a logrotate without `copytruncate`: `dateext` renames
   * `ctr.log` to `ctr.log-20261206`, `create` puts an empty file at the path). What is written goes
   * on into the renamed file, which readers of the path do not see. Null while the path names it,
   * while it rotates, and once it has no name left ({@link removed}).
   */
  get movedTo(): string | null {
    if (this.#rotating || this.#fd < 0) return null;
    const own = fs.fstatSync(this.#fd);
    if (own.nlink === 0) return null;
    const atPath = fs.lstatSync(this.path, { throwIfNoEntry: false });
    if (atPath !== undefined && atPath.dev === own.dev && atPath.ino === own.ino) return null;
    // Its name now, as the kernel knows it (a hard link of it elsewhere may be the one shown).
    return fs.readlinkSync(`/proc/self/fd/${this.#fd}`);
  }

  /** Appends `bufs` (whole entries, for CRI) in order; `cb` fires when they are in the file. */
  write(bufs: Buffer[], cb: WriteCallback): void {
    if (this.#closed) {
      process.nextTick(cb, logClosedError(this.path));
      return;
    }
    this.#queue.push({ bufs, cb });
    this.#kick();
  }

  /** Closes the file after the writes queued so far and opens `path` again (after a logrotate). */
  reopen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push(() => {
        this.#rotationFailed = false;
        return this.#closeFd().then(() => this.#ensureOpen()).then(resolve, reject);
      });
      this.#kick();
    });
  }

  /**
   * Writes what is queued and closes the file. A stalled file is given up on: its queued
   * callbacks get the stall error and so does the returned promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  async #doClose(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#queue.push(() => resolve());
      this.#closed = true;
      this.#kick();
      if (this.#stallError) this.#giveUp();
    });
    await this.#closeFd();
    if (this.#stallError) throw this.#stallError;
  }

  #giveUp(): void {
    if (this.#stallTimer) clearTimeout(this.#stallTimer);
    this.#wakeStall?.();
  }

  #kick(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#run();
  }

  async #run(): Promise<void> {
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      if (typeof head === 'function') {
        this.#queue.shift();
        await head();
        continue;
      }
      // Gather consecutive writes into one writev: fewer syscalls when both streams are busy.
      const batch: Pending[] = [];
      const bufs: Buffer[] = [];
      let bytes = 0;
      while (this.#queue.length > 0 && bufs.length < maxBatchBuffers && bytes < maxBatchBytes) {
        const item = this.#queue[0]!;
        if (typeof item === 'function') break;
        this.#queue.shift();
        batch.push(item);
        for (const b of item.bufs) {
          if (b.length > 0) { bufs.push(b); bytes += b.length; }
        }
      }
      const err = await this.#writeAll(bufs, bytes);
      for (const item of batch) item.cb(err);
    }
    this.#running = false;
  }

  /** Writes every byte of `bufs`, rotating where needed; returns an error only when given up. */
  async #writeAll(bufs: Buffer[], bytes: number): Promise<Error | null> {
    let left = bufs, leftBytes = bytes;
    let backoff = firstBackoffMs;
    while (leftBytes > 0) {
      try {
        await this.#ensureOpen();
        const [now, later] = this.#cutForRotation(left, leftBytes);
        let nowBytes = 0;
        for (const b of now) nowBytes += b.length;
        if (nowBytes === 0) {
          await this.#rotate();
        } else {
          const n = await this.#writeSome(now, nowBytes);
          // Only what was written leaves the queue: a short write (disk filling up) is retried.
          left = n === nowBytes ? later : [...dropFront(now, n), ...later];
          leftBytes -= n;
          if (n === nowBytes && later.length > 0) await this.#rotate();
        }
        if (this.#stallError) {
          this.#stallError = null;
          this.emit('resume');
        }
        backoff = firstBackoffMs;
      } catch (e) {
        const err = e as Error;
        if (this.#stallError === null) {
          this.#stallError = err;
          this.emit('error', err);
        } else {
          this.#stallError = err;
        }
        if (this.#closed) return err;
        await new Promise<void>((resolve) => {
          this.#wakeStall = resolve;
          this.#stallTimer = setTimeout(resolve, backoff);
        });
        this.#wakeStall = null;
        this.#stallTimer = null;
        if (this.#closed) return this.#stallError ?? err;
        backoff = Math.min(backoff * 2, maxBackoffMs);
        // A failed write may have left the fd unusable (EIO, a vanished file): start afresh.
        if (err && (err as NodeJS.ErrnoException).code !== 'ENOSPC') await this.#closeFd().catch(() => undefined);
      }
    }
    return null;
  }

  /**
   * Splits a write at the point where the file would pass `maxSize`. A CRI write is cut after the
   * last whole entry that fits; when not even one fits into a non-empty file, nothing is written
   * now (the caller rotates first); an entry larger than `maxSize` goes alone into a fresh file.
   */
  #cutForRotation(bufs: Buffer[], bytes: number): [Buffer[], Buffer[]] {
    const max = this.#opts.maxSize;
    if (max === undefined || this.#rotationFailed || this.#size + bytes <= max) return [bufs, []];
    let room = Math.max(0, max - this.#size);
    const now: Buffer[] = [];
    for (let i = 0; i < bufs.length; i++) {
      const b = bufs[i]!;
      if (b.length <= room) {
        now.push(b);
        room -= b.length;
        continue;
      }
      let cut = room;
      if (this.#opts.cutAtNewline) {
        cut = room === 0 ? 0 : b.lastIndexOf(0x0a, room - 1) + 1;
        if (cut === 0 && now.length === 0 && this.#size === 0) cut = b.indexOf(0x0a) + 1 || b.length;
      }
      if (cut > 0) now.push(b.subarray(0, cut));
      const later = cut < b.length ? [b.subarray(cut), ...bufs.slice(i + 1)] : bufs.slice(i + 1);
      return [now, later];
    }
    return [now, []];
  }

  async #writeSome(bufs: Buffer[], bytes: number): Promise<number> {
    const { bytesWritten } = await writev(this.#fd, bufs);
    this.#size += bytesWritten;
    if (bytesWritten === 0 && bytes > 0) throw Object.assign(new Error(`ENOSPC: no space left on device, write '${this.path}'`), { code: 'ENOSPC' });
    return bytesWritten;
  }

  async #ensureOpen(): Promise<void> {
    if (this.#fd >= 0) return;
    await mkdir(path.dirname(this.path), { recursive: true, mode: 0o755 });
    // A symlink or FIFO planted at the path is refused (ERR_NOT_REGULAR_FILE): the file stalls on
    // that error, and it retries, as for a full disk, until someone removes what is there.
    // CRI opens for reading too, to look at the last byte below.
    const { fd, stat, readable } = await this.#openForAppend();
    this.#size = stat.size;
    this.#fd = fd;
    // A CRI file whose last entry has no newline was torn: a writer gave up on a full disk, or died
    // mid-write. End that line before the first entry, or a reader takes this entry as the rest of
    // the torn one's content. Not truncated back to the last whole entry instead: that needs the
    // writer that tore it to still run, and takes back bytes a follower may have read. Raw logs are
    // the task's bytes as written (a prompt without a newline is normal), so nothing is added there.
    if (readable && stat.size > 0) {
      try {
        if (!(await endsLine(fd, stat.size))) await this.#writeSome([Buffer.from('\n')], 1);
      } catch (e) {
        // Until the torn line is ended no entry may go in: a retry must open and look again.
        await this.#closeFd().catch(() => undefined);
        throw e;
      }
    }
  }

  /**
   * Opens the file for appending; CRI also for reading (the torn-line check). A CRI file its user may
   * write but not read (mode 0200 for a user other than root) is opened write-only instead, without
   * that check: refusing to log at all would be worse than a torn line that stays torn.
   */
  async #openForAppend(): Promise<{ fd: number; stat: fs.Stats; readable: boolean }> {
    const { O_RDWR, O_WRONLY, O_APPEND, O_CREAT } = fs.constants;
    if (this.#opts.cutAtNewline) {
      try {
        return { ...await openRegularFile(this.path, O_RDWR | O_APPEND | O_CREAT, this.#opts.mode), readable: true };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EACCES') throw e;
      }
    }
    return { ...await openRegularFile(this.path, O_WRONLY | O_APPEND | O_CREAT, this.#opts.mode), readable: false };
  }

  async #closeFd(): Promise<void> {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    await close(fd);
  }

  async #rotate(): Promise<void> {
    this.#rotating = true;
    try {
      await this.#rotateFiles();
    } finally {
      this.#rotating = false;
    }
  }

  async #rotateFiles(): Promise<void> {
    const { maxFiles, maxSize = 0 } = this.#opts;
    // Before anything moves: a reader of this log in this process that has not reached the file
    // this rotation removes opens it now, so it reads it all the same however far behind it is.
    announceRotation(this.path, { doomed: maxFiles > 1 ? `${this.path}.${maxFiles - 1}` : this.path, setBytes: maxFiles * maxSize });
    try {
      if (maxFiles > 1) {
        for (let i = maxFiles - 1; i >= 2; i--) {
          await rename(`${this.path}.${i - 1}`, `${this.path}.${i}`).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== 'ENOENT') throw e;
          });
        }
        await rename(this.path, `${this.path}.1`);
      } else {
        await unlink(this.path);
      }
    } catch (e) {
      // A failed rotation must not stop the logging: keep writing to the current file (it grows
      // past maxSize) and say so; the next reopen() tries rotating again.
      this.#rotationFailed = true;
      this.emit('rotateError', e);
      return;
    }
    const old = this.#fd;
    this.#fd = -1;
    try {
      await this.#ensureOpen();
    } finally {
      await close(old).catch(() => undefined);
    }
    this.emit('rotate');
  }
}

/** The error of a write after the log was closed. */
export function logClosedError(file: string): TaskioError {
  return new TaskioError('ERR_LOG_CLOSED', `log file ${JSON.stringify(file)} is closed`);
}

/** Tells whether the file of `fd`, `size` bytes long, ends with a newline (or shrank: no line to end). */
async function endsLine(fd: number, size: number): Promise<boolean> {
  const b = Buffer.alloc(1);
  const { bytesRead } = await read(fd, b, 0, 1, size - 1);
  return bytesRead === 0 || b[0] === 0x0a;
}

function dropFront(bufs: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of bufs) {
    if (n >= b.length) { n -= b.length; continue; }
    out.push(n > 0 ? b.subarray(n) : b);
    n = 0;
  }
  return out;
}
