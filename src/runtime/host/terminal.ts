import fs from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { TaskioError } from '../../errors.js';
import { loadPty, type IPty } from './pty.js';
import type { Terminal, WinSize } from '../proc/index.js';
import { checkWinSize, defaultWinSize } from '../console/index.js';
import { readRest } from '../console/readRest.js';
import { dupPtyMaster } from './ptyMaster.js';

/**
 * A host process's terminal, made before the process exists (so {@link resize} before start sets
 * the size it starts with) and bound to a node-pty when {@link HostRuntime} spawns the process.
 * node-pty owns the pty master; output flows with backpressure (`pause`/`resume` of the pty). node-pty
 * is loaded by the first terminal made, not when taskio is imported.
 */
export class HostTerminal implements Terminal {
  readonly output: Readable;
  readonly input: Writable;
  #pty: IPty | null = null;
  #size: WinSize = { ...defaultWinSize };
  #closed = false;
  #exited = false;
  /**
   * Taken as the pty is bound, while node-pty's master is surely open: a duplicate of it for
   * {@link masterFd}, or why there is none. Closed at the exit or {@link close}.
   */
  #master: number | Error | null = null;
  readonly #pendingInput: Array<{ data: Buffer; cb: (err?: Error | null) => void }> = [];

  /** Throws `ERR_NATIVE_MODULE` when node-pty cannot be loaded, before any process is started. */
  constructor() {
    loadPty();
    this.output = new Readable({
      highWaterMark: 64 * 1024,
      read: () => this.#pty?.resume(),
    });
    this.input = new Writable({
      highWaterMark: 64 * 1024,
      write: (chunk: Buffer, _enc, cb) => {
        if (this.#pty) {
          this.#pty.write(chunk);
          cb();
        } else this.#pendingInput.push({ data: chunk, cb });
      },
    });
  }

  /** The size the process starts with, or has now. */
  size(): WinSize {
    return { ...this.#size };
  }

  /**
   * Sets the size now, or the one the process starts with. Once its process has exited the pty has
   * nothing left to size: node-pty's ioctl then fails (ENOTTY, EBADF once it closed its master),
   * which is not the caller's error. `Init` and `Process` refuse a resize once they saw the exit
   * (`ERR_INVALID_STATE`); this covers the moment between the death and that exit event.
   * @throws TaskioError `ERR_OUT_OF_RANGE` unless both are integers in 1..65535.
   */
  resize(ws: WinSize): void {
    this.#size = checkWinSize(ws);
    if (!this.#pty || this.#closed || this.#exited) return;
    try {
      this.#pty.resize(ws.cols, ws.rows);
    } catch (err) {
      if (!/\b(ENOTTY|EBADF|EIO)\b/.test(String((err as Error).message))) throw err;
    }
  }

  /**
   * The pty master's fd while the process runs, for a process that must hold the terminal beyond
   * this one (the daemon's output keeper, which inherits it): a duplicate of node-pty's, this
   * terminal's own (the caller may only share it). Null before the process is spawned and once it
   * exited or the terminal was closed.
   * @throws TaskioError `ERR_NOT_SUPPORTED` when node-pty keeps its master where taskio does not look.
   */
  masterFd(): number | null {
    if (this.#master instanceof Error) throw this.#master;
    return this.#master;
  }

  #closeMaster(): void {
    if (typeof this.#master === 'number') fs.closeSync(this.#master);
    this.#master = null;
  }

  /** Binds the spawned pty. @internal */
  attach(pty: IPty): void {
    this.#pty = pty;
    try {
      this.#master = dupPtyMaster(pty);
    } catch (err) {
      this.#master = err as Error; // the terminal works; only masterFd() fails, with this
    }
    const onData = (d: string | Buffer): void => {
      // Closed: the output has ended (a push now would be an 'error' nobody may hear) and nobody reads.
      if (this.#closed) return;
      const buf = typeof d === 'string' ? Buffer.from(d) : d; // Buffers with encoding: null
      if (!this.output.push(buf)) pty.pause();
    };
    pty.onData(onData);
    keepLastOutput(pty, onData);
    // node-pty reports the exit once the pty is drained: the output has ended.
    pty.onExit(() => {
      this.#exited = true;
      this.#closeMaster();
      setImmediate(() => { if (!this.output.destroyed) this.output.push(null); });
    });
    for (const { data, cb } of this.#pendingInput.splice(0)) {
      pty.write(data);
      cb();
    }
  }

  /**
   * Ends both streams; what the process still writes is dropped. The process runs on (node-pty owns
   * the pty, `HostRuntime` the process): a pty paused because the output was not read is
   * resumed, so the process is not held up on a terminal nobody will read.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeMaster();
    this.input.destroy();
    if (!this.output.destroyed) this.output.push(null);
    this.#pty?.resume();
    for (const { cb } of this.#pendingInput.splice(0)) cb(new TaskioError('ERR_CONSOLE_CLOSED', 'the terminal was closed'));
  }
}

/** `O_NONBLOCK` in the octal `flags` of `/proc/self/fdinfo/<fd>`. */
const O_NONBLOCK = 0o4000;

/**
 * node-pty gives a pty whose process exited 200 ms to reach EOF, then destroys its socket: output
 * still in the socket's buffer (read while the pty was paused for backpressure) or in the kernel
 * was lost — a paused `printf hello; exit` lost its "hello" every time, and a host terminal's last
 * line went missing under load. Before that destroy, what the socket holds is handed to the data
 * listeners (`read()` emits it) and what the kernel holds is read (the master is non-blocking,
 * checked first: a blocking read could wait for an orphan that keeps the terminal open). This
 * reaches into node-pty 1.x's UnixTerminal (`_socket`, `_fd`); another build is left as it is.
 * Exported for its test only (not from the package).
 * @internal
 */
export function keepLastOutput(pty: IPty, deliver: (b: Buffer) => void): void {
  const inner = pty as unknown as { _socket?: Readable; _fd?: unknown };
  const socket = inner._socket;
  const fd = inner._fd;
  if (!socket || typeof socket.read !== 'function' || typeof socket.destroy !== 'function' || typeof fd !== 'number') return;
  const destroy = socket.destroy.bind(socket);
  socket.destroy = (err?: Error): Readable => {
    if (!socket.destroyed) {
      while (socket.read() !== null); // each read emits 'data': node-pty passes it on
      if (nonBlocking(fd)) readRest(fd, deliver);
    }
    return destroy(err);
  };
}

function nonBlocking(fd: number): boolean {
  try {
    const flags = /^flags:\s*([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
    return flags !== undefined && (Number.parseInt(flags, 8) & O_NONBLOCK) !== 0;
  } catch {
    return false;
  }
}
