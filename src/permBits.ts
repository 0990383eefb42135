import { TaskioError, showValue } from './errors.js';

/**
 * Checks permission bits given in code (a FIFO's `perm`, a log file's `mode`; `what` names the
 * value): a whole number from 0 to 0o777. Both go to `mkfifo(2)`/`open(2)` as they are, where a
 * larger value sets the setuid, setgid or sticky bit (0o4777 made a setuid file) and a string or a
 * negative number failed only once the call was made.
 * @throws TaskioError `ERR_INVALID_ARG_TYPE` for a non-number, `ERR_INVALID_ARG_VALUE` out of range.
 */
export function checkPermBits(value: unknown, what: string): void {
  if (typeof value !== 'number') throw new TaskioError('ERR_INVALID_ARG_TYPE', `${what} must be a number, got ${showValue(value)}`);
  if (Number.isInteger(value) && value >= 0 && value <= 0o777) return;
  const shown = Number.isInteger(value) && value > 0 ? `0o${value.toString(8)}` : String(value);
  throw new TaskioError('ERR_INVALID_ARG_VALUE', `${what} must be an integer from 0 to 0o777, got ${shown}`);
}
