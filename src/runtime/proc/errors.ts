import { TaskioError } from '../../errors.js';

/**
 * The error of a call the process's state forbids, with gVisor shim's words (`cannot start a
 * running container` …) and code `ERR_INVALID_STATE`.
 */
export function invalidState(message: string): TaskioError {
  return new TaskioError('ERR_INVALID_STATE', message);
}

/** Signals that end a process: sent to one already gone, they are a no-op (gVisor's shim). */
export function isStopSignal(signal: number | string): boolean {
  const s = typeof signal === 'string' ? signal.toUpperCase().replace(/^SIG/, '') : signal;
  return s === 'TERM' || s === 'KILL' || s === 15 || s === 9 || s === '15' || s === '9';
}
