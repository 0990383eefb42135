import { getWinSize, type WinSize } from '../sys/files.js';
import type { TerminalStream } from './checkTty.js';

/**
 * The fd of the first of `streams` that is a terminal, or undefined. The callers' order is docker's:
 * stdout, else (when stdout is piped) stdin, whose terminal has the same size.
 */
export function terminalFd(...streams: TerminalStream[]): number | undefined {
  return streams.find((s) => s.isTTY === true && typeof s.fd === 'number')?.fd;
}

/**
 * The window size of the terminal behind `fd`, read now (`TIOCGWINSZ`): the one reader of this
 * command's terminal size, for the start size of a `-t` task or exec and for every `SIGWINCH`. Not
 * Node's `rows`/`columns`: a `tty.ReadStream` (stdin) has none, and a `tty.WriteStream` refreshes
 * them in a `SIGWINCH` listener of its own, which may run after the caller's. Null when `fd` is
 * undefined (no terminal), when the read fails (the terminal went away: a hangup), and for 0x0 (a
 * new pty nobody sized: the task keeps its default rather than a size no program can use).
 */
export function terminalSize(fd: number | undefined): WinSize | null {
  if (fd === undefined) return null;
  try {
    const size = getWinSize(fd);
    return size.rows > 0 && size.cols > 0 ? size : null;
  } catch {
    return null;
  }
}
