import { TaskioError } from '../../errors.js';
import { signalNumber } from '../oci/index.js';

/**
 * The error of a call the process's state forbids, with gVisor shim's words (`cannot start a
 * running container` …) and code `ERR_INVALID_STATE`.
 */
export function invalidState(message: string): TaskioError {
  return new TaskioError('ERR_INVALID_STATE', message);
}

/**
 * Signals that end a process: sent to one already gone, they are a no-op (gVisor's shim).
 * @throws TaskioError `ERR_INVALID_SIGNAL` for anything that is no signal.
 */
export function isStopSignal(signal: number | string): boolean {
  const n = signalNumber(signal);
  return n === 9 || n === 15;
}
