import type { WinSize } from '../sys/files.js';
import { terminalFd, terminalSize } from './terminalSize.js';
import type { TerminalStream } from './checkTty.js';

export { checkTty } from './checkTty.js';

/** The input side: a terminal has `setRawMode` (Node's `tty.ReadStream`). */
export interface TerminalInput extends TerminalStream {
  setRawMode?(mode: boolean): unknown;
}

/** Options of {@link openTerminal}. */
export interface TerminalOptions {
  /** The command's stdin (default `process.stdin`); put in raw mode when `raw` and it is a terminal. */
  stdin?: TerminalInput;
  /** The command's stdout (default `process.stdout`); its window size is the task's, as docker takes it. */
  stdout?: TerminalStream;
  /** Raw mode on stdin (true when stdin is attached to a task's terminal: `-it`). Default true. */
  raw?: boolean;
  /**
   * Called with the window size at once and again on every `SIGWINCH` (the attach code posts it
   * as a resize of the task's terminal). Not called when neither stdout nor stdin is a terminal.
   */
  onResize?(size: WinSize): void;
}

/** The signals that end the command by default; the terminal is restored before they do. */
const endingSignals: NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGQUIT'];

/**
 * This process's terminal while it is attached to a task's terminal (`run -t`, `exec -t`,
 * `attach`): stdin in raw mode (keys go to the task as typed; ctrl-c is a byte, not a signal), the
 * window size followed through `SIGWINCH`, and the terminal mode restored on every way out:
 * {@link restore} (normal exit, detach, a caught error), the process `'exit'` (`process.exit`, an
 * uncaught exception), and `SIGHUP`/`SIGINT`/`SIGTERM`/`SIGQUIT` sent to the command — after which
 * the signal is raised again, so the command still dies of it (another listener of that signal is
 * called a second time).
 * Only `SIGKILL` leaves the terminal raw (`stty sane` or `reset` repairs it).
 *
 * Raw mode is Node's (libuv's `UV_TTY_MODE_RAW`), which keeps output post-processing on (`\n`
 * still moves to the start of the line), where docker's `MakeRaw` turns it off. `NORAW=1` in the
 * environment skips raw mode, as in docker.
 */
export class TerminalSession {
  readonly #stdin: TerminalInput;
  readonly #sizeFd: number | undefined;
  readonly #onResize: ((size: WinSize) => void) | undefined;
  #raw = false;
  #closed = false;
  readonly #onWinch = (): void => this.#resized();
  readonly #onExit = (): void => this.restore();
  readonly #onSignal = (signal: NodeJS.Signals): void => {
    this.restore();
    // Raise it again with our listener gone: with no other listener the default action applies
    // (the command dies of the signal); a listener that acts only when it is the last one (the
    // signal-exit package, which execa loads) now acts.
    process.kill(process.pid, signal);
  };

  /** Use {@link openTerminal}. */
  constructor(opts: TerminalOptions = {}) {
    const stdin = opts.stdin ?? process.stdin;
    const stdout = opts.stdout ?? process.stdout;
    this.#stdin = stdin;
    this.#onResize = opts.onResize;
    this.#sizeFd = terminalFd(stdout, stdin);
    process.on('exit', this.#onExit);
    for (const s of endingSignals) process.on(s, this.#onSignal);
    try {
      if (opts.raw !== false && stdin.isTTY === true && !process.env['NORAW']) {
        stdin.setRawMode?.(true);
        this.#raw = true;
      }
      if (this.#onResize && this.#sizeFd !== undefined) {
        process.on('SIGWINCH', this.#onWinch);
        this.#resized();
      }
    } catch (err) {
      this.restore();
      throw err;
    }
  }

  /**
   * The current window size (stdout's, else stdin's), or `undefined` when neither is a terminal,
   * the terminal went away (hangup), or it is 0x0.
   */
  get size(): WinSize | undefined {
    return terminalSize(this.#sizeFd) ?? undefined;
  }

  #resized(): void {
    const size = this.size;
    if (size) this.#onResize?.(size);
  }

  /** Restores the terminal mode and stops following the window size. Idempotent; synchronous. */
  restore(): void {
    if (this.#closed) return;
    this.#closed = true;
    process.off('exit', this.#onExit);
    process.off('SIGWINCH', this.#onWinch);
    for (const s of endingSignals) process.off(s, this.#onSignal);
    if (this.#raw) {
      this.#raw = false;
      try {
        this.#stdin.setRawMode?.(false);
      } catch {
        // The terminal is gone (hangup): there is nothing left to restore.
      }
    }
  }
}

/** Starts a {@link TerminalSession}: raw mode on, the first size reported, the exits guarded. */
export function openTerminal(opts: TerminalOptions = {}): TerminalSession {
  return new TerminalSession(opts);
}
