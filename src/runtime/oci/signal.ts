import os from 'node:os';
import { TaskioError } from '../../errors.js';

/**
 * Turns `'TERM'`, `'SIGTERM'`, `'sigterm'`, `15` or `'15'` into a signal number. Both runtimes
 * accept numbers, so a name is resolved here once and an unknown one fails before any command runs.
 */
export function signalNumber(signal: number | string): number {
  if (typeof signal === 'number' || /^\d+$/.test(signal)) {
    const n = Number(signal);
    if (Number.isInteger(n) && n > 0 && n < 65) return n;
  } else {
    const name = signal.toUpperCase();
    const signals = os.constants.signals as Record<string, number>;
    const n = signals[name.startsWith('SIG') ? name : `SIG${name}`];
    if (n !== undefined) return n;
  }
  throw new TaskioError('ERR_INVALID_SIGNAL', `invalid signal: ${String(signal)}`);
}
