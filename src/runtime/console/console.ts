import fs from 'node:fs';
import tty from 'node:tty';
import { Readable, Writable } from 'node:stream';
import { getFileFlags, getWinSize, isCode, setFileFlags, setWinSize } from '../../sys/index.js';
import { checkWinSize, type WinSize } from './winSize.js';
import { TaskioError } from '../../errors.js';
import { dupFd } from '../../sys/index.js';
import { readRest } from './readRest.js';

/** The first and the longest wait before writing again after `EAGAIN`, in ms. */
const FIRST_BACKOFF = 1, MAX_BACKOFF = 50;

/**
 * A pty master received from a runtime (containerd's `console.Console`, Linux side): its output as a
 * `Readable`, its input as a `Writable`, and the window size.
 *
 * A pty master is a TTY, which `net.Socket` refuses, so output is read through `tty.ReadStream`,
 * and `EIO` — what Linux returns once every slave fd is closed — ends {@link output} cleanly
 * instead of failing it. Input is written with `fs.write`; the fd is non-blocking so a full pty
 * input buffer gives `EAGAIN` (retried on a timer backoff) rather than a threadpool thread stuck
 * in `write(2)`.
 *
 * The reader gets its own duplicate of the fd, because Node closes a tty handle whose read fails:
 * closing the master at `EIO` would hang up the terminal and `SIGHUP` a process that closed its
 * terminal fds just before exiting (coreutils `cat` does), turning its exit 0 into 129. The master
 * itself stays open — and resizable — until {@link close}, as in containerd, where the shim closes
 * the console only when the process is deleted.
 */
export class Console {
  /** The pty master fd. Valid only while {@link closed} is false. */
  readonly fd: number;
  /** What the process writes to its terminal. Ends at `EIO` (no error); no data is lost before that. */
  readonly output: Readable;
  /** What the process reads from its terminal. Never closes the fd: {@link close} does. */
  readonly input: Writable;
  readonly #tty: tty.ReadStream;
  #closed = false;
  /** Writes in flight on the threadpool: the fd is closed only after they return, never under them. */
  #inflight = 0;
  #fdOpen = true;

  /** Takes ownership of `masterFd`, a pty master (from {@link ConsoleSocket.receiveMaster}). */
  constructor(masterFd: number) {
    this.fd = masterFd;
    // Set before libuv sees the fd (the flag lives on the file description, shared with the dup):
    // libuv leaves a pty master blocking, and would then block the event loop in read(2) after
    // filling a whole read buffer, and fs.write would block a threadpool thread.
    setFileFlags(masterFd, getFileFlags(masterFd) | fs.constants.O_NONBLOCK);
    this.#tty = new tty.ReadStream(dupFd(masterFd));
    this.output = this.#wrapOutput();
    this.input = new Writable({
      highWaterMark: 64 * 1024,
      write: (chunk: Buffer, _encoding, callback) => {
        this.#writeAll(chunk).then(() => callback(), callback);
      },
    });
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sets the terminal's window size (`TIOCSWINSZ`); the process gets `SIGWINCH`. A size set before
   * the process first asks (before `start`) is the size it starts with.
   * @throws TaskioError `ERR_OUT_OF_RANGE` unless both are integers in 1..65535.
   */
  resize(ws: WinSize): void {
    const size = checkWinSize(ws);
    this.#checkOpen();
    setWinSize(this.fd, size);
  }

  /** The terminal's window size (`TIOCGWINSZ`). */
  size(): WinSize {
    this.#checkOpen();
    return getWinSize(this.fd);
  }

  /** Writes `data` to the process's terminal input, in order with {@link input}. */
  write(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.input.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Closes the pty master (the terminal hangs up: a process still on it gets `SIGHUP`) and ends both
   * streams. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.input.destroy();
    this.#tty.destroy();
    if (!this.output.destroyed) this.output.push(null);
    this.#closeFdWhenIdle();
  }

  #closeFdWhenIdle(): void {
    if (!this.#closed || !this.#fdOpen || this.#inflight > 0) return;
    this.#fdOpen = false;
    fs.closeSync(this.fd);
  }

  #checkOpen(): void {
    if (this.#closed) throw new TaskioError('ERR_CONSOLE_CLOSED', 'the console is closed');
  }

  /** Wraps the tty stream: backpressure passed through, `EIO` read as end of output. */
  #wrapOutput(): Readable {
    const src = this.#tty;
    const out = new Readable({
      highWaterMark: 64 * 1024,
      read: () => {
        src.resume();
      },
      destroy: (err, callback) => {
        src.destroy();
        callback(err);
      },
    });
    src.on('data', (chunk: Buffer) => {
      if (!out.push(chunk)) src.pause();
    });
    // libuv's end is not the terminal's (see readRest): a process that wrote its last line just
    // before exiting lost it 1 to 3 times in 300 runs under load (runsc and runc alike), and 8,011
    // bytes written before the Console took the master came out as 4,095. The master is non-blocking
    // (constructor).
    src.on('end', () => {
      // After close() the output has ended already (a push would fail it): nothing more is read.
      if (!this.#closed) readRest(this.fd, (chunk) => out.push(chunk));
      out.push(null);
    });
    src.on('error', (err) => {
      if (isCode(err, 'EIO')) out.push(null);
      else out.destroy(err);
    });
    src.pause();
    return out;
  }

  async #writeAll(chunk: Buffer): Promise<void> {
    let offset = 0, backoff = FIRST_BACKOFF;
    while (offset < chunk.length) {
      this.#checkOpen();
      this.#inflight++;
      try {
        offset += await writeSome(this.fd, chunk, offset);
        backoff = FIRST_BACKOFF;
      } catch (err) {
        if (!isCode(err, 'EAGAIN')) throw err;
        // The process is not reading its terminal; wait for it rather than spin.
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, MAX_BACKOFF);
      } finally {
        this.#inflight--;
        this.#closeFdWhenIdle();
      }
    }
  }
}

function writeSome(fd: number, buf: Buffer, offset: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.write(fd, buf, offset, buf.length - offset, null, (err, n) => (err ? reject(err) : resolve(n)));
  });
}
