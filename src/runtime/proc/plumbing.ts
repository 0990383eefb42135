import { pipeline } from 'node:stream/promises';
import { TaskioError } from '../../errors.js';
import { Console, newConsoleSocket, type ConsoleSocket } from '../console/index.js';
import { createIO, type CreateIOOptions, type ProcessIO } from '../stdio/index.js';
import { closeQuietly } from '../stdio/sink.js';
import type { Runtime, Terminal, WinSize } from './runtime.js';
import type { Stdio } from './types.js';

/** What the runtime call needs from {@link Plumbing}. */
export interface PlumbingRuntimeOptions {
  stdio: ProcessIO['stdio'];
  consoleSocket?: string;
  terminal?: Terminal;
}

/**
 * Everything between one process and its clients: the process-side stdio and, in terminal mode,
 * the console (received over a console socket, or made by the runtime itself) with its copies.
 * Shared by {@link Init} and exec'd {@link Process}es.
 * @internal
 */
export class Plumbing {
  readonly io: ProcessIO;
  #terminal: Terminal | null = null;
  #socket: ConsoleSocket | null = null;
  /** Settles once the runtime's pty master arrived over the socket and became the console. */
  #master: Promise<void> | null = null;
  /** Set once nobody will take a master any more (console timeout, close): one that comes is closed. */
  #refuseMaster = false;
  readonly #abort = new AbortController();
  #size: WinSize | null = null;
  #outputCopy: Promise<void> | null = null;
  #finished: Promise<void> | null = null;
  #closed: Promise<void> | null = null;

  /** An exec's: what hangs its process up once the terminal's output lost its reader (see {@link attached}). */
  #hangUp: (() => void) | null = null;

  private constructor(io: ProcessIO) {
    this.io = io;
  }

  /**
   * Opens the stdio of `stdio` and, for a terminal, a console socket or the runtime's own terminal.
   * `keepOpen: false` for an exec's output FIFOs (see {@link CreateIOOptions.keepOpen}); `hangUp`
   * is then called when the terminal's output lost its reader (the console is closed as well).
   */
  static async open(stdio: Stdio, runtime: Runtime, opts: { id: string; namespace: string; keepOpen?: boolean; hangUp?: () => void }): Promise<Plumbing> {
    const io = await createIO({ terminal: stdio.terminal, stdin: stdio.stdin, stdout: stdio.stdout, stderr: stdio.stderr }, opts);
    const p = new Plumbing(io);
    p.#hangUp = opts.hangUp ?? null;
    if (!stdio.terminal) return p;
    try {
      if (runtime.newTerminal) {
        p.#terminal = runtime.newTerminal();
      } else {
        p.#socket = await newConsoleSocket();
        p.#master = p.#socket.receiveMaster(p.#abort.signal).then((fd) => p.#adopt(fd));
        p.#master.catch(() => undefined); // awaited in attached(); a failed create never asks
      }
    } catch (err) {
      await p.close();
      throw err;
    }
    return p;
  }

  /**
   * A terminal process's plumbing over pty master `masterFd` taken back after a daemon restart (the
   * process runs already): the console's copies start at once. Takes `masterFd`: closed on failure.
   */
  static async adopt(stdio: Stdio, masterFd: number, opts: { id: string; namespace: string }): Promise<Plumbing> {
    let io: ProcessIO;
    try {
      io = await createIO({ terminal: true, stdin: stdio.stdin, stdout: stdio.stdout, stderr: '' }, opts);
    } catch (err) {
      closeQuietly(masterFd);
      throw err;
    }
    const p = new Plumbing(io);
    try {
      p.#adopt(masterFd);
      await p.attached(0);
    } catch (err) {
      await p.close();
      throw err;
    }
    return p;
  }

  /**
   * The fd of the pty master: the one the runtime sent (runc, runsc) while open, or the one of the
   * runtime's own terminal ({@link Terminal.masterFd}: host, node-pty's); null without a terminal.
   * The fd stays this plumbing's (or its terminal's).
   * @throws TaskioError from {@link Terminal.masterFd} (a node-pty that hides its master).
   */
  consoleFd(): number | null {
    const term = this.#terminal;
    if (term instanceof Console) return term.closed ? null : term.fd;
    return term?.masterFd?.() ?? null;
  }

  /** The stdio, console socket or terminal to hand the runtime. */
  runtimeOptions(): PlumbingRuntimeOptions {
    return {
      stdio: this.io.stdio,
      ...(this.#socket ? { consoleSocket: this.#socket.path } : {}),
      ...(this.#terminal && this.#socket === null ? { terminal: this.#terminal } : {}),
    };
  }

  /**
   * After the runtime call returned: takes the pty master (waiting at most `timeout` ms), applies
   * a size set before, and starts copying between the console and the stdio.
   */
  async attached(timeout: number): Promise<void> {
    if (this.#master !== null && this.#socket !== null) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          this.#master,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new TaskioError('ERR_CONSOLE_SOCKET', `the runtime sent no pty master within ${timeout} ms`)), timeout);
          }),
        ]);
      } finally {
        clearTimeout(timer);
        // Taken or timed out, the socket is done: a runtime that still connects is refused, and a
        // master still in flight is closed (#adopt), never left open in this process.
        await this.#stopListening();
      }
    }
    const term = this.#terminal;
    if (term === null || this.#outputCopy !== null) return;
    if (this.#size) term.resize(this.#size);
    const out = this.io.terminalOutput();
    // The terminal's output FIFO lost its reader (EPIPE: an exec's, not kept open): the copy
    // stopped, and a pty nobody reads would block the process for ever. It is hung up instead, as
    // by a terminal whose other end went away: SIGHUP, and the console closed.
    const lost = (err: unknown): void => {
      if (this.#hangUp === null || (err as { code?: unknown }).code !== 'EPIPE') return;
      this.#hangUp();
      term.close();
    };
    this.#outputCopy = out ? pipeline(term.output, out, { end: false, signal: this.#abort.signal }).catch(lost) : Promise.resolve();
    const input = this.io.terminalInput();
    if (input) pipeline(input, term.input, { end: false, signal: this.#abort.signal }).catch(() => undefined);
  }

  /** Makes a received pty master the console, or closes it when nobody will take it any more. */
  #adopt(fd: number): void {
    if (this.#refuseMaster || this.#terminal !== null) {
      closeQuietly(fd);
      throw new TaskioError('ERR_CONSOLE_SOCKET', 'the pty master arrived after the console was given up');
    }
    try {
      this.#terminal = new Console(fd);
      // Sized as it arrives, not once the runtime call returned: by then the process may run.
      if (this.#size) this.#terminal.resize(this.#size);
    } catch (err) {
      closeQuietly(fd);
      throw err;
    }
  }

  async #stopListening(): Promise<void> {
    this.#refuseMaster = true;
    const socket = this.#socket;
    this.#socket = null;
    await socket?.close();
  }

  /** Sets the window size now, or as soon as the console exists (before the process first asks). */
  resize(ws: WinSize): void {
    this.#size = { cols: ws.cols, rows: ws.rows };
    this.#terminal?.resize(this.#size);
  }

  /**
   * Once the process exited: the console's output copied to its end, then the stdio drained.
   * Unbounded; memoized.
   */
  finishOutput(): Promise<void> {
    this.#finished ??= (async () => {
      this.io.closeChildFds();
      await this.#outputCopy;
      await this.io.drain();
    })();
    return this.#finished;
  }

  /** Waits for {@link finishOutput} at most `ms`. */
  async finishOutputWithin(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.finishOutput(), new Promise<void>((r) => { timer = setTimeout(r, ms); })]);
    clearTimeout(timer);
  }

  /** Releases everything: copies, console, socket, stdio. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#abort.abort();
      this.#refuseMaster = true;
      this.#terminal?.close();
      await this.#stopListening();
      await this.io.close();
    })();
    return this.#closed;
  }
}
