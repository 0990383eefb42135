import net from 'node:net';
import { abortError } from '../errors.js';
import { initialInputSize, type CriEncoder } from './criEncoder.js';
import { formatCriTime, nowNs } from './criTime.js';
import type { LogFile, WriteCallback } from './logFile.js';
import { QuietLine, quietLineMs } from './quietLine.js';
import { bytesReadable } from '../sys/index.js';

/** The states of a {@link LogCopy}; see its rules. */
export type LogCopyState = 'reading' | 'writing' | 'gathering' | 'ending' | 'done' | 'failed';

/** How long a CRI copy lets the pipe gather lines after a small read (see {@link LogCopy}). */
const gatherMs = 1;

/**
 * One copy of a pipe or FIFO into a log file: the engine of `LogWriter.copyFrom`.
 *
 * The pipe is read through `onread` into memory that is reused — the CRI encoder's input, or two
 * raw buffers taken in turn — so nothing is allocated per chunk (in Node the allocation per chunk,
 * not the read, is what costs). Memory handed to the file may be overwritten only once that write
 * is done, which is what the states track.
 *
 * States:
 * - `reading`: the socket flows;
 * - `writing`: the socket is paused until the file took what was read (CRI: the entries of the last
 *   read; raw: both buffers are queued);
 * - `gathering`: CRI only, the socket stays paused for 1 ms after a read that found the pipe less than
 *   1/8 full (`gatherBelow`), so the pipe gathers lines instead of each short line costing a read, an
 *   encode, a write and a wake-up of the producer (≈10 000 cycles per 1 M lines of 100 bytes, against
 *   ≈500). The cost is at most 1 ms of latency, only for output that follows within 1 ms of the last;
 *   a 1 MiB pipe absorbs 1 GB/s for that long, so a fast producer is never slowed;
 * - `ending`: EOF was read; waiting until everything queued is in the file;
 * - `done` (the promise resolved with the bytes read) and `failed` (rejected): final.
 *
 * Rules, one per branch:
 * 1. a CRI read that completed no entry (an unfinished line grew) → stays `reading`, and the wait
 *    for quiet (rule 12) starts again;
 * 2. a CRI read with entries → they are written, `writing`;
 * 3. a raw read → it is written; while the other buffer is free → stays `reading`, else `writing`;
 * 4. in `writing`, the CRI write done → `gathering` after a small read, else `reading` (with an
 *    unfinished line held, the wait for quiet starts);
 * 5. a raw write done: in `writing` → `reading`; in any other state nothing waits for it;
 * 6. in `gathering`, 1 ms passed → `reading` (with a line held, the wait for quiet starts);
 * 7. EOF → the unfinished last line as an `F` entry (the stream ended), `ending`;
 * 8. in `ending`, everything is in the file → `done`;
 * 9. a read or write error, or the abort signal → `failed`: the unfinished line as a `P` entry (it was
 *    cut, not ended), the fd closed;
 * 10. {@link stop} (the writer closes) → `done` at once, the fd closed; the unfinished line is
 *    handed to the caller as a `P` entry;
 * 11. anything in `done` or `failed` → nothing (a write done late, a second stop);
 * 12. in `reading` with an unfinished line held, no read for {@link quietLineMs} and the pipe empty
 *    (not merely unread: the event loop may have been late) → the held part is written as a `P`
 *    entry, `writing` — a prompt waiting for its answer reaches the log's followers now, not with
 *    its newline; its rest is the next entry. Bytes in the pipe → stays `reading` (their read
 *    decides anew). In any other state the wait ends unheeded: going back to `reading` starts it again.
 */
export class LogCopy {
  /** Resolves with the bytes read at EOF or on {@link stop}; rejects on an error or abort. */
  readonly done: Promise<number>;
  #state: LogCopyState = 'reading';
  #bytes = 0;
  #lastRead = 0;
  #timer: NodeJS.Timeout | null = null;
  readonly #fd: number;
  readonly #quiet: QuietLine | null;
  readonly #file: LogFile;
  readonly #encoder: CriEncoder | null;
  readonly #gatherBelow: number;
  readonly #signal: AbortSignal | undefined;
  #raw: Buffer[];
  readonly #readSize: number;
  #rawNext = 0;
  #rawQueued = 0;
  readonly #sock: net.Socket;
  #resolve!: (bytes: number) => void;
  #reject!: (err: Error) => void;

  /**
   * Starts copying `fd` (owned from now on) into `file`.
   * @param encoder CRI format: the encoder of this copy (its input is the read buffer); null: raw.
   * @param gatherBelow CRI: a read smaller than this is followed by a 1 ms pause; 0: never.
   * @param readSize raw: the size each of the two read buffers grows to once a read filled one
   *   (they start at the encoder's initial input size: a task that writes little has no
   *   megabytes set aside, as with the CRI encoder).
   */
  constructor(fd: number, file: LogFile, encoder: CriEncoder | null, gatherBelow: number, readSize: number, signal?: AbortSignal) {
    this.#fd = fd;
    this.#file = file;
    this.#encoder = encoder;
    this.#quiet = encoder ? new QuietLine(this.#quietLine) : null;
    this.#gatherBelow = gatherBelow;
    this.#signal = signal;
    this.#readSize = readSize;
    const start = Math.min(readSize, initialInputSize);
    this.#raw = encoder ? [] : [Buffer.allocUnsafe(start), Buffer.allocUnsafe(start)];
    this.done = new Promise<number>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#sock = new net.Socket({
      fd, readable: true, writable: false,
      onread: {
        // Asked for before each read: the buffers grow.
        buffer: encoder ? () => encoder.input : () => this.#raw[this.#rawNext]!,
        callback: (n: number, buf: Uint8Array): boolean => (encoder ? this.#criRead(encoder, n) : this.#rawRead(n, buf)),
      },
    } as net.SocketConstructorOpts);
    this.#sock.on('error', (err: Error) => this.#fail(err));
    this.#sock.on('end', () => this.#ended());
    this.#sock.on('close', () => {
      if (this.#timer) clearTimeout(this.#timer);
      this.#quiet?.cancel();
      signal?.removeEventListener('abort', this.#aborted);
    });
    signal?.addEventListener('abort', this.#aborted, { once: true });
  }

  /** Where the copy is (for tests and diagnostics). */
  get state(): LogCopyState {
    return this.#state;
  }

  /**
   * Rule 10: stops the copy now; returns its unfinished line as a `P` entry for the caller to write
   * (or null). A copy that reached EOF or ended already is left to finish (null).
   */
  stop(): Buffer | null {
    if (this.#state === 'ending' || this.#settled()) return null;
    this.#settle('done');
    return this.#encoder?.end(formatCriTime(nowNs()), true) ?? null;
  }

  #criRead(encoder: CriEncoder, n: number): boolean {
    this.#bytes += n;
    this.#lastRead = n;
    encoder.encode(n, formatCriTime(nowNs()));
    const out = encoder.takeOutput();
    if (out === null) { // rule 1
      this.#waitForQuiet();
      return true;
    }
    this.#quiet!.cancel();
    this.#state = 'writing'; // rule 2
    this.#file.write(out, this.#criWritten);
    return false;
  }

  readonly #criWritten: WriteCallback = (err) => {
    if (err) return this.#fail(err); // rule 9
    if (this.#state !== 'writing') return; // rule 11
    if (this.#lastRead < this.#gatherBelow) { // rule 4
      this.#state = 'gathering';
      this.#timer = setTimeout(this.#gathered, gatherMs);
    } else {
      this.#reading();
    }
  };

  readonly #gathered = (): void => {
    this.#timer = null;
    if (this.#state !== 'gathering') return; // rule 11
    this.#reading(); // rule 6
  };

  #reading(): void {
    this.#state = 'reading';
    this.#sock.resume();
    this.#waitForQuiet();
  }

  #waitForQuiet(): void {
    if (this.#encoder!.pendingBytes > 0) this.#quiet!.arm();
  }

  readonly #quietLine = (): void => {
    if (this.#state !== 'reading') return; // rule 12: not quiet, or over
    if (this.#pipeHasBytes()) return; // rule 12: a read is coming
    const tail = this.#encoder!.takePartial(formatCriTime(nowNs()));
    if (!tail) return;
    this.#state = 'writing'; // rule 12
    this.#sock.pause();
    this.#file.write([tail], this.#criWritten);
  };

  /** Whether bytes wait in the pipe (when the count cannot be had, none: the held part is written). */
  #pipeHasBytes(): boolean {
    try {
      return bytesReadable(this.#fd) > 0;
    } catch {
      return false;
    }
  }

  // The file's writes finish in order, so the buffer read into next is always the older one.
  #rawRead(n: number, buf: Uint8Array): boolean {
    this.#bytes += n;
    this.#rawQueued++;
    this.#rawNext ^= 1;
    // A full read: both buffers grow (the one being written stays alive through its write).
    if (n === buf.length && n < this.#readSize) this.#raw = [Buffer.allocUnsafe(this.#readSize), Buffer.allocUnsafe(this.#readSize)];
    this.#file.write([Buffer.from(buf.buffer, buf.byteOffset, n)], this.#rawWritten);
    if (this.#rawQueued < 2) return true; // rule 3
    this.#state = 'writing';
    return false;
  }

  readonly #rawWritten: WriteCallback = (err) => {
    this.#rawQueued--;
    if (err) return this.#fail(err); // rule 9
    if (this.#state !== 'writing') return; // rule 5
    this.#state = 'reading';
    this.#sock.resume();
  };

  #ended(): void {
    if (this.#settled()) return; // rule 11
    this.#state = 'ending'; // rule 7
    const tail = this.#encoder?.end(formatCriTime(nowNs()));
    // Its callback fires once everything queued before it is in the file (an empty write does too).
    this.#file.write(tail ? [tail] : [], (err) => {
      if (err) this.#fail(err); // rule 9
      else this.#settle('done'); // rule 8
    });
  }

  readonly #aborted = (): void => this.#fail(abortError(this.#signal));

  #fail(err: Error): void {
    if (this.#settled()) return; // rule 11
    const tail = this.#encoder?.end(formatCriTime(nowNs()), true);
    if (tail) this.#file.write([tail], () => undefined);
    this.#settle('failed', err); // rule 9
  }

  #settled(): boolean {
    return this.#state === 'done' || this.#state === 'failed';
  }

  #settle(state: 'done' | 'failed', err?: Error): void {
    this.#state = state;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#quiet?.cancel();
    this.#sock.destroy();
    if (state === 'done') this.#resolve(this.#bytes);
    else this.#reject(err!);
  }
}
