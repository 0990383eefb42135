import os from 'node:os';
import { TaskioError, showValue } from '../../errors.js';

/** Linux's real-time signals under docker's names (moby's `SignalMap`): glibc keeps 32 and 33 for
 * itself, so `RTMIN` is 34, `RTMIN+1`..`RTMIN+15` follow it and `RTMAX-14`..`RTMAX` (64) end the range. */
const realTimeSignals: ReadonlyMap<string, number> = new Map([
  ...Array.from({ length: 16 }, (_, i) => [i === 0 ? 'RTMIN' : `RTMIN+${i}`, 34 + i] as const),
  ...Array.from({ length: 15 }, (_, i) => [i === 0 ? 'RTMAX' : `RTMAX-${i}`, 64 - i] as const),
]);

/**
 * Turns `'TERM'`, `'SIGTERM'`, `'sigterm'`, `'RTMIN+1'`, `15` or `'15'` into a signal number (1..64). Both
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
      const name = signal.toUpperCase().replace(/^SIG/, '');
      n = (os.constants.signals as Record<string, number | undefined>)[`SIG${name}`] ?? realTimeSignals.get(name);
    }
  }
  if (n !== undefined && Number.isInteger(n) && n > 0 && n < 65) return n;
  // A string as given, in docker's words (`invalid signal: NOPE`), which the CLI repeats.
  throw new TaskioError('ERR_INVALID_SIGNAL', `invalid signal: ${typeof signal === 'string' ? signal : showValue(signal)}`);
}

/** The name of signal `n` (`SIGTERM`, `SIGRTMIN+1`), or its number as text for one without a name. */
export function signalName(n: number): string {
  const named = Object.entries(os.constants.signals).find(([, v]) => v === n)?.[0];
  if (named !== undefined) return named;
  const realTime = [...realTimeSignals].find(([, v]) => v === n)?.[0];
  return realTime !== undefined ? `SIG${realTime}` : String(n);
}
