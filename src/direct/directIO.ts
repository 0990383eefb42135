import { finished, type Readable, type Writable } from 'node:stream';
import { abortError } from '../errors.js';
import { FIFOSet, FifoWriter, ReaderLock, openFifo } from '../fifo/index.js';
import { readerLockPath } from '../attach/pipeIO.js';
import type { IO } from '../attach/index.js';
import { FifoIO } from '../attach/fifoIO.js';

/**
 * A FIFO set as plain Node streams, for callers that copy themselves (containerd's `DirectIO`):
 * write the task's input to `stdin`, read its output from `stdout` and `stderr`. It holds the set's
 * reader lock until cancelled or closed. `cancel()` aborts a pending stdin open, destroys the streams
 * and releases the lock;
 * `wait()` resolves once `stdout` and `stderr` have ended or been destroyed.
 */
export class DirectIO extends FifoIO {
  private constructor(
    set: FIFOSet,
    lock: ReaderLock | null,
    /** Writes to the task's stdin; `null` when the set has no stdin. */
    public stdin: Writable | null,
    /** Reads the task's stdout; `null` when the set has no stdout. */
    public stdout: Readable | null,
    /** Reads the task's stderr; `null` in terminal mode or when the set has no stderr. */
    public stderr: Readable | null,
  ) {
    super(set);
    this.lock = lock;
    const ends = [stdout, stderr].filter((s): s is Readable => s !== null)
      .map((s) => new Promise<void>((resolve) => finished(s, () => resolve())));
    this.waiting = Promise.all(ends).then(() => undefined);
  }

  /** Opens the set's FIFOs (creating them when missing) without waiting for the task side. */
  static async open(set: FIFOSet, opts: { signal?: AbortSignal } = {}): Promise<DirectIO> {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const { stdin, stdout, stderr, terminal } = set.config;
    const opened: { destroy(): void }[] = [];
    let lock: ReaderLock | null = null;
    try {
      if (stdout || (stderr && !terminal)) lock = ReaderLock.acquire(readerLockPath(set.config));
      const out = stdout ? await openFifo(stdout, 'r', { create: true }) : null;
      if (out) opened.push(out);
      const err = stderr && !terminal ? await openFifo(stderr, 'r', { create: true }) : null;
      if (err) opened.push(err);
      const io = new DirectIO(set, lock, null, out, err);
      if (stdin) {
        const signal = opts.signal ? AbortSignal.any([opts.signal, io.abort.signal]) : io.abort.signal;
        io.stdin = new FifoWriter(stdin, { create: true, signal });
      }
      return io;
    } catch (err) {
      for (const s of opened) s.destroy();
      lock?.release();
      throw err;
    }
  }

  protected stopStreams(): void {
    this.stdin?.destroy();
    this.stdout?.destroy();
    this.stderr?.destroy();
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
