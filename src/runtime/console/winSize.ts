import { TaskioError, showValue } from '../../errors.js';

/** A terminal window size in character cells. */
export interface WinSize {
  cols: number;
  rows: number;
}

/**
 * The size a terminal starts with when nobody gave one (a classic terminal's, 80x24): every runtime's,
 * so a task's `stty size` and full-screen programs work where a new pty's 0x0 would break them.
 */
export const defaultWinSize: Readonly<WinSize> = Object.freeze({ cols: 80, rows: 24 });

/** The largest size a `struct winsize` field holds (16 bits). */
const maxCells = 0xffff;

/**
 * Checks a window size at the API boundary, before it is stored or set, and returns a copy: two
 * integers in 1..65535. `TIOCSWINSZ` would cut a larger one to 16 bits, and a 0 or negative size
 * is no terminal (node-pty refuses it).
 * @throws TaskioError `ERR_OUT_OF_RANGE` naming the size, `ERR_INVALID_ARG_TYPE` for a non-object.
 */
export function checkWinSize(ws: WinSize): WinSize {
  if (typeof ws !== 'object' || ws === null) {
    throw new TaskioError('ERR_INVALID_ARG_TYPE', `a window size is an object { cols, rows }, got ${typeof ws === 'object' ? 'null' : typeof ws}`);
  }
  const { cols, rows } = ws;
  const ok = (n: unknown): boolean => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= maxCells;
  if (!ok(cols) || !ok(rows)) {
    throw new TaskioError('ERR_OUT_OF_RANGE', `window size must be two integers 1..${maxCells}, got ${showValue(cols)}x${showValue(rows)}`);
  }
  return { cols, rows };
}
