import os from 'node:os';
import { TaskioError, showValue } from '../../errors.js';

/**
 * Turns `'TERM'`, `'SIGTERM'`, `'sigterm'`, `15` or `'15'` into a signal number (1..64). Both
 * runtimes accept numbers, so a name is resolved here once and an unknown one — or anything that is
 * not a name or a number — fails before any command runs or any process is touched.
 * @throws TaskioError `ERR_INVALID_SIGNAL` naming the value.
 */
export function signalNumber(signal: number | string): number {
  let n: number | undefined;
  if (typeof signal === 'number') n = signal;
  else if (typeof signal === 'string') {
    if (/^\d+$/.test(signal)) n = Number(signal);
    else {
      const name = signal.toUpperCase();
      n = (os.constants.signals as Record<string, number | undefined>)[name.startsWith('SIG') ? name : `SIG${name}`];
    }
  }
  if (n !== undefined && Number.isInteger(n) && n > 0 && n < 65) return n;
  // A string as given, in docker's words (`invalid signal: NOPE`), which the CLI repeats.
  throw new TaskioError('ERR_INVALID_SIGNAL', `invalid signal: ${typeof signal === 'string' ? signal : showValue(signal)}`);
}

/** The name of signal `n` (`SIGTERM`), or its number as text for one without a name (real-time signals). */
export function signalName(n: number): string {
  const named = Object.entries(os.constants.signals).find(([, v]) => v === n);
  return named ? named[0] : String(n);
}
