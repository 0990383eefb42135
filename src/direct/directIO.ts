import { finished, type Readable } from 'node:stream';
import { abortError } from '../errors.js';
import {
  type FIFOSet, FifoWriter, ReaderLock, checkFIFOSet, checkSignalOptions, makeMissingFifos, openReaderFd, removeFifos,
} from '../fifo/index.js';
import { readerLockPath } from '../attach/pipeIO.js';
import type { IO } from '../attach/index.js';
import type { Config } from '../fifo/index.js';
import { FifoIO } from '../attach/fifoIO.js';
import { OutputReader } from './outputReader.js';

/**
 * A FIFO set as plain Node streams, for callers that copy themselves (containerd's `DirectIO`):
 * write the task's input to `stdin`, read its output from `stdout` and `stderr`. It holds the set's
 * reader lock until cancelled or closed.
 *
 * **A detach loses nothing.** `cancel()` aborts a pending stdin open, stops the output reads at once
 * and releases the lock, and then:
 * - `stdout` / `stderr` still give every byte they took from the pipe, then end (`'end'`, so
 *   `pipe()` ends its destination, and `for await` leaves its loop); what is still in the pipe is
 *   the next reader's. Read them to their end to have everything of this attachment — exactly once
 *   across detach and reattach, as in containerd, where a reader holds no read-ahead.
 * - `stdin` is destroyed; `stdin.unwritten()` gives exactly the bytes written to it that did not
 *   reach the FIFO, to send again after a reattach.
 *
 * `wait()` resolves once `stdout` and `stderr` have ended or been destroyed, or at `cancel()`.
 */
export class DirectIO implements IO {
  /** Writes to the task's stdin; `null` when the set has no stdin. */
  stdin: FifoWriter | null = null;
  /** Reads the task's stdout; `null` when the set has no stdout. */
  readonly stdout: Readable | null;
  /** Reads the task's stderr; `null` in terminal mode or when the set has no stderr. */
  readonly stderr: Readable | null;
  readonly #io: FifoIO;
  #cancelled!: () => void;

  private constructor(set: FIFOSet, lock: ReaderLock | null, stdout: Readable | null, stderr: Readable | null) {
    this.stdout = stdout;
    this.stderr = stderr;
    this.#io = new FifoIO(set, () => this.#stopStreams());
    this.#io.lock = lock;
    const ends = [stdout, stderr].filter((s): s is Readable => s !== null)
      .map((s) => new Promise<void>((resolve) => finished(s, () => resolve())));
    const cancelled = new Promise<void>((resolve) => { this.#cancelled = resolve; });
    this.#io.waiting = Promise.race([Promise.all(ends).then(() => undefined), cancelled]);
  }

  /**
   * Opens the set's FIFOs (creating them when missing) without waiting for the task side. If it
   * fails, the FIFOs it made are gone again; whatever was there before stays.
   */
  static async open(set: FIFOSet, opts: { signal?: AbortSignal } = {}): Promise<DirectIO> {
    checkFIFOSet(set, 'newDirectIO');
    checkSignalOptions(opts, 'the newDirectIO options');
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const { stdin, stdout, stderr, terminal } = set.config;
    const lockPath = stdout || (stderr && !terminal) ? readerLockPath(set.config) : '';
    const opened: OutputReader[] = [];
    let lock: ReaderLock | null = null;
    let made: string[] = [];
    try {
      // Made up front, so a failure knows what to remove; the opens below only check what is there.
      made = makeMissingFifos([lockPath, stdout, terminal ? '' : stderr, stdin]);
      if (lockPath) lock = ReaderLock.acquire(lockPath, { made });
      const out = stdout ? new OutputReader(openReaderFd(stdout, made)) : null;
      if (out) opened.push(out);
      const err = stderr && !terminal ? new OutputReader(openReaderFd(stderr, made)) : null;
      if (err) opened.push(err);
      const io = new DirectIO(set, lock, out, err);
      if (stdin) {
        const signal = opts.signal ? AbortSignal.any([opts.signal, io.#io.abort.signal]) : io.#io.abort.signal;
        io.stdin = new FifoWriter(stdin, { signal });
      }
      return io;
    } catch (err) {
      for (const s of opened) s.destroy();
      lock?.release();
      removeFifos(made);
      throw err;
    }
  }

  /** The paths (or URIs) of the set. */
  config(): Config {
    return this.#io.config();
  }

  /**
   * Detaches: aborts a pending stdin open, stops the output reads, releases the reader lock (see
   * above for what the streams still give). Idempotent, never throws.
   */
  cancel(): void {
    this.#io.cancel();
  }

  /** Resolves once `stdout` and `stderr` have ended or been destroyed, or at `cancel()`. */
  wait(): Promise<void> {
    return this.#io.wait();
  }

  /** Cancels, then closes the set (removing what its creator made). Idempotent. */
  close(): Promise<void> {
    return this.#io.close();
  }

  #stopStreams(): void {
    this.stdin?.destroy();
    for (const s of [this.stdout, this.stderr]) {
      if (s instanceof OutputReader) s.detach();
      else s?.destroy();
    }
    this.#cancelled();
  }

  /** Returns this IO for any id: the FIFOs are already open (containerd's `IOCreate`). */
  async ioCreate(_id: string): Promise<IO> {
    return this;
  }

  /** Returns this IO for any set: the FIFOs are already open (containerd's `IOAttach`). */
  async ioAttach(_set: FIFOSet): Promise<IO> {
    return this;
  }
}

/** Opens a FIFO set as a {@link DirectIO}. A second reader of the same set fails with `EBUSY`. */
export function newDirectIO(set: FIFOSet, opts?: { signal?: AbortSignal }): Promise<DirectIO> {
  return DirectIO.open(set, opts);
}
