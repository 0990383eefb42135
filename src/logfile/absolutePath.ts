import path from 'node:path';
import { TaskioError, showValue } from '../errors.js';

/**
 * Checks that a log path (a file, or a logging driver binary) is absolute: the task host may run
 * with another working directory, so a relative path would silently point elsewhere.
 * @throws TaskioError `ERR_INVALID_LOG_PATH` naming the path.
 */
export function requireAbsolutePath(p: unknown): string {
  if (typeof p !== 'string' || !path.isAbsolute(p)) {
    throw new TaskioError('ERR_INVALID_LOG_PATH', `log path ${showValue(p)} must be absolute`);
  }
  return p;
}
